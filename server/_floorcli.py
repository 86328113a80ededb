"""``plenary recount POLL``: count a vote's stored ballots again, apart from the live counter."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from server.settings import Settings


def add_floor_commands(sub: Any) -> None:
    recount = sub.add_parser(
        "recount", help="count the stored ballots of a vote again; print the result and the hash of the ballot set")
    recount.add_argument("poll", type=int, help="the number of the vote (poll id)")
    recount.add_argument("--json", action="store_true", help="print the whole recount as JSON")
    recount.set_defaults(handler=cmd_recount)


def cmd_recount(args: argparse.Namespace, settings: Settings) -> int:
    from server.cli import _store
    from server.errors import MeetingError
    from server.voting import recount_poll

    store = _store(settings)
    try:
        found = store.read_sync(recount_poll, args.poll)
    except MeetingError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        store.close()
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        print(describe_recount(found))
    return 0 if found["matches"] is not False else 3


def describe_recount(found: dict[str, Any]) -> str:
    poll, result = found["poll"], found["recount"]
    lines = [f"Vote {poll['poll_id']}: {poll['title']} ({poll['kind']}, {poll['mode']}, {poll['state']})",
             f"Ballots counted again: {result['ballots']}"]
    if poll["kind"] == "election":
        lines.append(f"Valid {result['valid']}, blank {result['blank']}, invalid {result['invalid']}")
        lines += [f"  {c['name']}: {c['votes']} ({c['percent']}% of valid ballots)"
                  f"{' elected' if c['elected'] else ''}{' runoff' if c['runoff'] else ''}"
                  for c in result["candidates"]]
    else:
        counts = result["counts"]
        lines.append(f"Yes {counts['yes']}, no {counts['no']}, abstain {counts['abstain']}")
        lines.append(f"Base: {result['base_text']} = {result['base']}")
    lines.append(result["outcome_text"])
    lines.append(f"Ballot set SHA-256: {found['ballot_hash']}")
    verdict = {True: "The recount matches the stored result.",
               False: "THE RECOUNT DIFFERS FROM THE STORED RESULT.",
               None: "No stored result from ballots to compare with (not closed, or counted by hand)."}
    lines.append(verdict[found["matches"]])
    return "\n".join(lines)
