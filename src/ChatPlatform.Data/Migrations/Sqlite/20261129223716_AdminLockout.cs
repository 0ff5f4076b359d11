using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ChatPlatform.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AdminLockout : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "FailedLogins",
                table: "admin_accounts",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "LockedUntil",
                table: "admin_accounts",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "FailedLogins",
                table: "admin_accounts");

            migrationBuilder.DropColumn(
                name: "LockedUntil",
                table: "admin_accounts");
        }
    }
}
