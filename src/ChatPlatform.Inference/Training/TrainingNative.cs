using System.Reflection;
using System.Runtime.InteropServices;
using LLama.Native;

namespace ChatPlatform.Inference.Training;

/// <summary>
/// llama.cpp's training entry points (<c>llama_opt_*</c>) and the ggml-opt calls around them, which LLamaSharp does
/// not wrap. Layouts match the llama.cpp build LLamaSharp 0.30.0 ships (commit c0c7e147; checked against the shipped
/// binaries: <c>llama_opt_params</c> is 48 bytes with the optimiser type last, the optimiser parameters are seven
/// floats). Calls resolve to the very copies of <c>libllama</c> and <c>libggml-base</c> that LLamaSharp loaded.
/// </summary>
internal static unsafe partial class TrainingNative
{
    private const string Llama = "llama";
    private const string GgmlBase = "ggml-base";

    /// <summary>ggml's <c>GGML_TYPE_I32</c>.</summary>
    public const int GgmlTypeI32 = 26;

    /// <summary>ggml's <c>GGML_OPT_OPTIMIZER_TYPE_ADAMW</c>.</summary>
    public const int OptimizerAdamW = 0;

    static TrainingNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(TrainingNative).Assembly, Resolve);
    }

    /// <summary>Loads LLamaSharp's native library first, so the resolver below finds the folder it came from.</summary>
    public static void EnsureLoaded() => NativeApi.llama_empty_call();

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name is not (Llama or GgmlBase)) return IntPtr.Zero;
        var folder = LoadedLlamaFolder();
        if (folder is null) return IntPtr.Zero;
        var file = OperatingSystem.IsWindows() ? $"{name}.dll" : OperatingSystem.IsMacOS() ? $"lib{name}.dylib" : $"lib{name}.so";
        return NativeLibrary.TryLoad(Path.Combine(folder, file), out var handle) ? handle : IntPtr.Zero;
    }

    /// <summary>The folder of the <c>libllama</c> this process has loaded (read from the process's memory map).</summary>
    private static string? LoadedLlamaFolder()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/');
                if (slash < 0) continue;
                var path = line[slash..];
                if (path.EndsWith("/libllama.so", StringComparison.Ordinal)) return Path.GetDirectoryName(path);
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OptimizerParams
    {
        public float AdamAlpha;
        public float AdamBeta1;
        public float AdamBeta2;
        public float AdamEps;
        public float AdamWeightDecay;
        public float SgdAlpha;
        public float SgdWeightDecay;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct OptParams
    {
        public uint NCtxTrain;
        public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, byte> ParamFilter;
        public IntPtr ParamFilterUserData;
        public delegate* unmanaged[Cdecl]<IntPtr, OptimizerParams> GetOptimizerParams;
        public IntPtr GetOptimizerParamsUserData;
        public int OptimizerType;
    }

    [LibraryImport(Llama)]
    public static partial void llama_opt_init(IntPtr context, IntPtr model, OptParams parameters);

    [LibraryImport(Llama)]
    public static partial void llama_opt_epoch(
        IntPtr context, IntPtr dataset, IntPtr resultTrain, IntPtr resultEval, long idataSplit,
        delegate* unmanaged[Cdecl]<byte, IntPtr, IntPtr, IntPtr, long, long, long, void> callbackTrain,
        delegate* unmanaged[Cdecl]<byte, IntPtr, IntPtr, IntPtr, long, long, long, void> callbackEval);

    [LibraryImport(GgmlBase)]
    public static partial IntPtr ggml_opt_dataset_init(int typeData, int typeLabel, long neDatapoint, long neLabel, long ndata, long ndataShard);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_dataset_free(IntPtr dataset);

    [LibraryImport(GgmlBase)]
    public static partial IntPtr ggml_opt_dataset_data(IntPtr dataset);

    [LibraryImport(GgmlBase)]
    public static partial IntPtr ggml_opt_dataset_labels(IntPtr dataset);

    [LibraryImport(GgmlBase)]
    public static partial IntPtr ggml_opt_result_init();

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_result_free(IntPtr result);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_result_reset(IntPtr result);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_result_loss(IntPtr result, double* loss, double* uncertainty);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_result_ndata(IntPtr result, long* ndata);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_opt_result_pred(IntPtr result, int* predictions);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_backend_tensor_set(IntPtr tensor, void* data, nuint offset, nuint size);

    [LibraryImport(GgmlBase)]
    public static partial void ggml_backend_tensor_get(IntPtr tensor, void* data, nuint offset, nuint size);

    [LibraryImport(GgmlBase)]
    public static partial IntPtr ggml_get_name(IntPtr tensor);

    [LibraryImport(GgmlBase)]
    public static partial nuint ggml_nbytes(IntPtr tensor);
}
