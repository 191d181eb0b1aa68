"""Entry point: the command group, and the one place where errors become exit codes."""

from __future__ import annotations

import sys

import click

from solver.errors import EXIT_INTERNAL, GpuplanError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="gpuplan")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """gpuplan: which GPU configuration to rent or buy to serve an LLM, and what it costs and delivers.

    Exit codes: 0 ok; 2 bad input (arguments, scenario, catalog, measurements, output path);
    3 infeasible scenario; 4 batch finished with some rows infeasible or in error; 5 run stopped
    before its end (an output could not be written, a worker died: --resume finishes a batch);
    1 internal error (a bug).
    """
    ctx.obj = {"debug": debug}


def _register() -> None:
    from solver.cli.catalog_cmd import catalog_group

    cli.add_command(catalog_group)
    from solver.cli import plan_cmds

    plan_cmds.register(cli)


_register()


#: flags renamed to the scenario's field names (one vocabulary for solve, estimate, memory, CSV and YAML):
#: the old spellings are accepted, with a notice
RENAMED_FLAGS = {
    "solve": {"--context": "--context-tokens", "--input-len": "--input-tokens", "--output-len": "--output-tokens",
              "--concurrency": "--users"},
    "estimate": {"--context": "--context-tokens", "--input-len": "--input-tokens", "--output-len": "--output-tokens",
                 "--concurrency": "--users"},
    "memory": {"--context": "--context-tokens", "--rule": "--memory-rule"},
}


def renamed_flags(args: list[str]) -> tuple[list[str], list[str]]:
    """(arguments with old flag spellings replaced, a notice per replacement)."""
    command = next((a for a in args if not a.startswith("-")), None)
    table = RENAMED_FLAGS.get(command or "", {})
    out, notices = [], []
    for a in args:
        name, eq, value = a.partition("=")
        if name in table:
            notices.append(f"{name} is now {table[name]} (the old spelling is accepted for now)")
            a = table[name] + eq + value
        out.append(a)
    return out, notices


def main(argv: list[str] | None = None) -> None:
    args, notices = renamed_flags(sys.argv[1:] if argv is None else argv)
    for n in notices:
        click.echo(f"notice: {n}", err=True)
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="gpuplan", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except GpuplanError as e:
        if debug:
            raise
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except Exception:
        if debug:
            raise
        import traceback

        click.echo("internal error (a bug in gpuplan); details follow. Please report it.", err=True)
        traceback.print_exc()
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
