"""Veilleur's entry point.

    python bot.py                 run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)
    python bot.py once            run one poll cycle, post what is new, and exit
    python bot.py once --dry-run  run one poll cycle and print the cards instead of posting (changes nothing)
    python bot.py status          print the health of every watcher
    python bot.py digest          post a digest since the latest scheduled one to the digest destinations
    python bot.py digest --dry-run  print that digest instead (changes nothing); --json prints its Block Kit
    python bot.py export --author H [--source S] [--format json|csv]  print everything held about an author
    python bot.py audit [--since DAYS]  print who summarised, drafted, exported, erased or changed a watcher
    python bot.py purge [--older-than DAYS] [--dry-run]      erase what is past the retention period now
    python bot.py forget --author HANDLE [--source SOURCE] [--reason erasure|objection] [--dry-run]
                                  erase everything held about one author and drop their future posts
    python bot.py authors import FILE.csv [--dry-run]  load public roles (handle,source,role,name); re-import updates
    python bot.py authors list    print the imported public roles

Installed (`pip install .`), the `veilleur` command is the same CLI: `veilleur once --dry-run`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import signal
import sys
from collections.abc import Awaitable, Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from veilleur.core.i18n import t, t_plural
from veilleur.core.keyed_hash import author_hash
from veilleur.core.logs import configure_logging
from veilleur.core.public_roles import RolesFileError, parse_public_roles, public_role_lines, with_imported_roles
from veilleur.core.settings import Settings, SettingsError, load_settings
from veilleur.core.watcher_config import WatchersFileError, load_authors_file
from veilleur.digest.delivery import DigestTarget, message_json
from veilleur.privacy.audit import CLI_USER, audit_text
from veilleur.privacy.export import FORMATS, as_csv, as_json, collect, nothing_held
from veilleur.privacy.reports import ErasureReport, PurgeReport, forget_lines, purge_lines
from veilleur.privacy.service import REASONS, ErasureIncomplete, PrivacyService
from veilleur.runtime import Runtime, open_local_services, open_services, open_store
from veilleur.services import LocalServices, Services
from veilleur.slack.outbox import new_slack_client
from veilleur.slack.terminal import as_text
from veilleur.storage.audit import AuditLog
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.public_roles import PublicRoles
from veilleur.storage.store import DatabaseError, DatabaseUnavailable, database_phrase, utcnow
from veilleur.watching.health import status_table
from veilleur.watching.outbox_messages import outbox_message
from veilleur.watching.polling import PollReport
from watchers import SOURCES

ONCE_POSTING_LIMIT = 600.0  # seconds `once` keeps posting (paced at ~1 message/s per channel) before giving up
CHART_UPLOAD_LIMIT = 60.0  # seconds `digest` waits for its charts' uploads once the digests are posted
AUDIT_DAYS = 30  # what `audit` shows by default
MAX_DAYS = 3650


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lang = "en"
    try:
        settings = load_settings()
        lang = settings.bot_language
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "once":
            return asyncio.run(run_once(settings, dry_run=args.dry_run))
        if args.command == "status":
            return print_status(settings)
        if args.command == "digest":
            return asyncio.run(run_digest(settings, dry_run=args.dry_run, as_json=args.json))
        if args.command == "export":
            return asyncio.run(run_export(settings, args.author, args.source, args.format))
        if args.command == "audit":
            return print_audit(settings, args.since)
        if args.command == "purge":
            return asyncio.run(run_privacy(
                settings, lambda privacy: privacy.purge(args.older_than, dry_run=args.dry_run), dry_run=args.dry_run))
        if args.command == "forget":
            return asyncio.run(run_privacy(
                settings,
                lambda privacy: privacy.forget(args.author, args.source, requested_by="cli", reason=args.reason,
                                               dry_run=args.dry_run),
                dry_run=args.dry_run,
            ))
        if args.command == "authors":
            return run_authors(settings, args)
        asyncio.run(run_bot(settings))
        return 0
    except (SettingsError, WatchersFileError) as error:
        # In English: the settings, BOT_LANGUAGE among them, could not be read. The line names the setting.
        print(f"veilleur: configuration error: {error}", file=sys.stderr)
        return 2
    except (DatabaseUnavailable, ErasureIncomplete) as error:
        print(t("cli.error", lang, error=error.phrase.say(lang)), file=sys.stderr)
        return 1
    except DatabaseError as error:
        # Anything the database refused outside a poll (posting, a digest): one line, and the next run resumes.
        problem = database_phrase(error, settings.database_path).say(lang)
        print(t("cli.error", lang, error=problem), file=sys.stderr)
        return 1


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line saying what is wrong and where help is, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # prog: "bot.py" or "veilleur" (the console script), as it was run.
    parser = _Parser(description="Veilleur, the community team's lookout in Slack.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (the default)")
    once = commands.add_parser("once", help="run one poll cycle and exit")
    once.add_argument("--dry-run", action="store_true", help="print the cards instead of posting; change nothing")
    commands.add_parser("status", help="print the health of every watcher")
    digest = commands.add_parser("digest", help="post a digest since the latest scheduled one, now")
    digest.add_argument("--dry-run", action="store_true", help="print the digest instead of posting; change nothing")
    digest.add_argument("--json", action="store_true", help="with --dry-run: print the Block Kit JSON, not text")
    export = commands.add_parser(
        "export", help="write everything held about an author to standard output (a GDPR access request)"
    )
    export.add_argument("--author", required=True, type=author_arg,
                        help="the author's handle (ann@mastodon.social) or, for feeds, name")
    export.add_argument("--source", choices=sorted(SOURCES), help="only the author's posts on this source")
    export.add_argument("--format", choices=FORMATS, default="json", help="json (default, with the notice) or csv")
    audit = commands.add_parser("audit", help="print who summarised, drafted, exported, erased or changed a watcher")
    audit.add_argument("--since", type=days_arg, default=AUDIT_DAYS, metavar="DAYS",
                       help=f"the last DAYS days (default {AUDIT_DAYS})")
    purge = commands.add_parser("purge", help="erase now what is past the retention period (RETENTION_DAYS)")
    purge.add_argument("--older-than", type=days_arg, metavar="DAYS",
                       help="erase what was collected more than DAYS days ago (default: RETENTION_DAYS)")
    purge.add_argument("--dry-run", action="store_true", help="print what would be erased; change nothing")
    forget = commands.add_parser("forget", help="erase everything held about one author, and drop their future posts")
    forget.add_argument("--author", required=True, type=author_arg, metavar="HANDLE",
                        help="their handle, or their name for sources that give no handle (RSS)")
    forget.add_argument("--source", choices=sorted(SOURCES), help="only on this source (default: every source)")
    forget.add_argument("--reason", choices=REASONS, default="erasure",
                        help="the person's request: erasure (the default) or objection")
    forget.add_argument("--dry-run", action="store_true", help="print what would be erased; change nothing")
    authors = commands.add_parser("authors", help="the team's list of public roles (elected, journalist, media…)")
    authors_commands = authors.add_subparsers(dest="authors_command", required=True)
    importing = authors_commands.add_parser("import", help="load public roles from CSV (handle,source,role,name)")
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    importing.add_argument("--dry-run", action="store_true", help="check the file and print what would change")
    authors_commands.add_parser("list", help="print the imported public roles")
    return parser.parse_args(argv)


def author_arg(value: str) -> str:
    if not value.strip().lstrip("@"):
        raise argparse.ArgumentTypeError("give the author's handle (ann@mastodon.social) or name")
    return value.strip()


def days_arg(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"give a whole number of days from 1 to {MAX_DAYS} (got {value!r})")
    return days


def run_authors(settings: Settings, args: argparse.Namespace) -> int:
    """`authors import` (exit code 1 when a row was left out, so a script notices) and `authors list`."""
    lang = settings.bot_language
    if args.authors_command == "list":
        with closing(open_store(settings)) as store:
            roles = PublicRoles(store).all()
        print("\n".join(public_role_lines(roles, lang)))
        return 0
    try:
        text = args.file.read_text(encoding="utf-8-sig")
        roles, problems = parse_public_roles(text, SOURCES.keys())
    except (OSError, UnicodeDecodeError, RolesFileError, csv.Error) as error:
        print(t("authors.import.unreadable", lang, file=str(args.file), error=str(error)), file=sys.stderr)
        return 2
    for problem in problems:
        print(t("authors.import.bad_row", lang, file=args.file.name, line=problem.line, error=problem.message),
              file=sys.stderr)
    with closing(open_store(settings, copy=args.dry_run)) as store:
        counts = PublicRoles(store).save(roles, utcnow())
    key = "authors.import.would" if args.dry_run else "authors.import.done"
    print(t_plural(key, counts.added, lang, added=counts.added, updated=counts.updated,
                   left_out=len(problems)))
    return 1 if problems else 0


def print_status(settings: Settings) -> int:
    """Exit code 1 when a watcher is failing, so monitoring can run this command."""
    return asyncio.run(_print_status(settings))


async def _print_status(settings: Settings) -> int:
    services = open_local_services(settings)
    try:
        configs = [entry.config for entry in services.catalog.entries()]  # the file's and those made in Slack
        print(status_table(services.store, configs, settings.bot_timezone, settings.bot_language))
        failing = [c.name for c in configs if services.store.watcher_status(c.name).consecutive_failures]
    finally:
        await services.aclose()
    print_problems(services)
    return 1 if failing or services.problems else 0


async def run_export(settings: Settings, author: str, source: str | None, fmt: str) -> int:
    """Everything held about `author` to standard output (data only: nothing of it is logged), recorded in the
    audit log under the author's keyed hash. Nothing held is an answer too, with the retention period."""
    store = open_store(settings)
    try:
        tables, _ = load_authors_file(settings.watchers_file, SOURCES.keys())
        labels = with_imported_roles(tables, PublicRoles(store).all())
        export = await store.read(collect, author, source, labels=labels, now=utcnow())
        key = PrivacyKey.for_database(settings.privacy_key, settings.database_path)
        subject = author_hash(key.ensure(), author, source)
        await store.write_patiently(lambda: AuditLog(store).record(CLI_USER, "export", subject))
    finally:
        store.close()
    if export.empty:
        print(nothing_held(author, source, settings))
        return 0
    text = as_json(export, settings) if fmt == "json" else as_csv(export)
    sys.stdout.write(text)
    return 0


def print_audit(settings: Settings, days: int) -> int:
    store = open_store(settings)
    try:
        since = utcnow() - timedelta(days=days)
        entries = AuditLog(store).entries(since)
    finally:
        store.close()
    print(audit_text(entries, since=since, days=days, tz=settings.bot_timezone, lang=settings.bot_language))
    return 0


async def run_bot(settings: Settings) -> None:
    runtime = Runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A stop must work while starting too: start() waits for Slack as long as Slack cannot be reached.
    starting = asyncio.create_task(runtime.start())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()
            await stopping
    finally:
        for task in (starting, stopping):
            task.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
        await runtime.stop()


def open_cli_services(settings: Settings, *, dry_run: bool) -> LocalServices:
    """The services for a one-shot command: `Services` to post, or only `LocalServices` when it prints instead (a
    dry run, or no Slack token), and then on an in-memory copy of the database, so it changes nothing on disk (the
    database file is not even created)."""
    token = None if dry_run else settings.slack_bot_token
    if token is None:
        return open_local_services(settings, store=open_store(settings, copy=True))
    return open_services(settings, new_slack_client(token, settings.slack_api_url), store=open_store(settings))


async def run_once(settings: Settings, *, dry_run: bool) -> int:
    """One poll of every watcher. Without a Slack token it behaves as a dry run."""
    services = open_cli_services(settings, dry_run=dry_run)
    lang = settings.bot_language
    try:
        reports = await services.poller.poll_all()
        for report in reports:
            print(describe(report, lang))
        if not isinstance(services, Services):
            print_pending_cards(services)
        else:
            left = await services.outbox.drain(within=ONCE_POSTING_LIMIT)
            if left:
                print(still_queued(services, left, "cli.cards_left", lang))
    finally:
        await services.aclose()
    return 0 if all(report.ok for report in reports) and not services.problems else 1


async def run_digest(settings: Settings, *, dry_run: bool, as_json: bool = False) -> int:
    """A digest since the latest slot to each destination (every watcher when printing without one). It does not
    count as the scheduled digest. Without a Slack token it behaves as a dry run."""
    services = open_cli_services(settings, dry_run=dry_run)
    lang = settings.bot_language
    try:
        targets = services.digests.targets()
        if not isinstance(services, Services):
            for target in targets or [DigestTarget(settings.digest_channel or "-", None)]:
                period = services.digests.schedule.period_until(utcnow())
                built = await services.digests.build(period, target.watchers, chart=False)
                print(f"--- #{target.channel}")
                print(message_json(built.message) if as_json else as_text(built.message))
            return 0
        if not targets:
            print(t("cli.no_digest_destination", lang), file=sys.stderr)
            return 1
        for target in targets:
            await services.digests.post_now(target)
        left = await services.outbox.drain(within=ONCE_POSTING_LIMIT)
        await services.digests.settle(within=CHART_UPLOAD_LIMIT)
        if left:
            print(still_queued(services, left, "cli.messages_left", lang))
    finally:
        await services.aclose()
    return 0


def open_privacy_services(settings: Settings, *, dry_run: bool) -> LocalServices:
    """The services `purge` and `forget` work with, on the real database (a dry run only reads it, or rolls back
    what it tried). With Slack, a story's first card that listed an erased mention is shown again without it."""
    if dry_run or settings.slack_bot_token is None:
        return open_local_services(settings)
    return open_services(settings, new_slack_client(settings.slack_bot_token, settings.slack_api_url))


async def run_privacy(
    settings: Settings, act: Callable[[PrivacyService], Awaitable[ErasureReport | PurgeReport]], *, dry_run: bool
) -> int:
    """`purge` or `forget`: first finish a run a kill interrupted (a dry run leaves it), then `act`."""
    services = open_privacy_services(settings, dry_run=dry_run)
    try:
        if not dry_run:
            print_reports(settings, await services.privacy.resume())
        print_reports(settings, [await act(services.privacy)])
        await services.stories.settled()
    finally:
        await services.aclose()
    return 0


def print_reports(settings: Settings, reports: list[ErasureReport | PurgeReport]) -> None:
    lang = settings.bot_language
    for report in reports:
        if isinstance(report, PurgeReport):
            print("\n".join(purge_lines(report, lang, tz=settings.bot_timezone)))
        else:
            print("\n".join(forget_lines(report, lang, watchers_file=settings.watchers_file)))


def describe(report: PollReport, lang: str) -> str:
    """One line per watcher: what a poll found, and what became of it."""
    watcher = report.watcher
    if not report.ok:
        error = report.problem.say(lang) if report.problem is not None else report.error
        return t("cli.poll.failed", lang, watcher=watcher, error=error)
    if report.outcome is None or report.not_modified:
        return t("cli.poll.not_modified" if report.not_modified else "cli.poll.nothing_new", lang, watcher=watcher)
    outcome = report.outcome
    found = [t_plural(f"cli.poll.{key}", n, lang, count=n)
             for key, n in (("fetched", report.fetched), ("matched", report.matched), ("new", outcome.new_mentions))]
    parts = [t("cli.and", lang).join(found)]
    queued = "cli.poll.queued_burst" if outcome.rollup_id else "cli.poll.queued"
    then = (("cli.poll.quiet", outcome.quiet), (queued, outcome.queued), ("cli.poll.overflow", outcome.overflow))
    parts += [t_plural(key, n, lang, count=n) for key, n in then if n]
    return t("cli.poll.line", lang, watcher=watcher, figures=t("cli.then", lang).join(parts))


def still_queued(services: Services, left: int, key: str, lang: str) -> str:
    """What is left in the outbox after `once` or `digest`: messages to post (`key`: cards or messages), and
    removals of the bot's messages (retention, erasure), told apart."""
    removals = services.store.pending_removals()
    parts = [t_plural(key, left - removals, lang, count=left - removals)] if left > removals else []
    if removals:
        parts.append(t_plural("cli.removals_left", removals, lang, count=removals))
    return t("cli.then", lang).join(parts)


def print_pending_cards(services: LocalServices) -> None:
    lang = services.settings.bot_language
    due = services.store.due_deliveries()
    for delivery in due:
        if delivery.kind == "removal":
            continue
        message = outbox_message(
            delivery, store=services.store, stories=services.stories, claims=services.claims, lang=lang,
            reach_tiers=services.settings.public_body,
        )
        heading = "cli.card_heading_thread" if delivery.parent_id else "cli.card_heading"
        print()
        print(t(heading, lang, channel=delivery.channel, watcher=delivery.watcher))
        print(as_text(message))
    if removals := sum(delivery.kind == "removal" for delivery in due):
        print()
        print(t_plural("cli.removals_pending", removals, lang, count=removals))


def print_problems(services: LocalServices) -> None:
    """The watchers that could not be built (each with its field), for the operator to fix."""
    for problem in services.problems:
        print(t("cli.not_running", services.settings.bot_language, problem=problem))


if __name__ == "__main__":
    sys.exit(main())
