"""Every option of every `vafa` command says what it is for in --help: walked from the parser
itself (vafa.cli.full_parser), so a new option without help text fails here by name."""

import argparse

from vafa.cli import full_parser, subparsers


def commands(parser, path=("vafa",), seen=None):
    """(command path, parser) for the whole tree, each parser once (aliases share one)."""
    seen = set() if seen is None else seen
    if id(parser) in seen:
        return
    seen.add(id(parser))
    yield " ".join(path), parser
    action = subparsers(parser)
    if action is not None:
        for name, child in action.choices.items():
            yield from commands(child, (*path, name), seen)


def undocumented(parser):
    """The options and positionals of one parser whose help is missing or blank."""
    missing = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.help == argparse.SUPPRESS:
            continue  # hidden on purpose: not listed, so nothing to explain
        if not (action.help or "").strip():
            missing.append("/".join(action.option_strings) or action.dest)
    return missing


def test_every_option_of_every_command_has_help():
    walked = list(commands(full_parser()))
    assert len(walked) > 30  # the whole tree, not just the top
    missing = [f"{path} {name}" for path, parser in walked for name in undocumented(parser)]
    assert missing == [], "options without help text:\n" + "\n".join(missing)


def test_the_walk_sees_a_missing_help():
    parser = argparse.ArgumentParser(prog="t")
    parser.add_argument("--said", help="what it does")
    parser.add_argument("--silent")
    parser.add_argument("--blank", help="  ")
    parser.add_argument("--hidden", help=argparse.SUPPRESS)
    assert undocumented(parser) == ["--silent", "--blank"]
