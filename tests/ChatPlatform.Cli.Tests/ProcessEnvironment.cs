using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>Tests that change the process environment run alone, after the others.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;
