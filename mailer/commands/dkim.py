"""``ediscuss dkim keygen``: make the signing key and print the DNS record to publish."""

from __future__ import annotations

import argparse

from mailer.commands.base import CommandError, Context, Subparsers
from mailer.outbound.dkim import generate_key, txt_record_lines


def register(sub: Subparsers) -> None:
    """Add ``dkim keygen``."""
    d = sub.add_parser("dkim", help="DKIM signing key")
    dsub = d.add_subparsers(dest="dkim_command", metavar="ACTION", required=True)
    p = dsub.add_parser(
        "keygen", help="write a new private key to dkim.key_file, print the TXT record"
    )
    p.add_argument("--selector", help="default: dkim.selector from the configuration")
    p.add_argument(
        "--bits",
        type=int,
        default=2048,
        choices=[1024, 2048, 3072, 4096],
        help="the RSA key size (default 2048)",
    )
    p.set_defaults(handler=cmd_dkim_keygen)


def cmd_dkim_keygen(ctx: Context, args: argparse.Namespace) -> int:
    """Make the key pair; refuse to overwrite a key file that exists."""
    settings = ctx.settings
    if settings.dkim is None:
        raise CommandError(
            "no [dkim] section: set dkim.selector and dkim.key_file first", exit_code=2
        )
    selector = args.selector or settings.dkim.selector
    domain = settings.dkim.domain or settings.service.domain
    try:
        record = generate_key(settings.dkim.key_file, selector, domain, args.bits)
    except FileExistsError as exc:
        raise CommandError(
            f"{settings.dkim.key_file} exists: move it away to make a new key"
        ) from exc
    print(f"private key written to {record.key_file} (mode 0600)")
    if selector != settings.dkim.selector:
        print(f"set dkim.selector = {selector!r} in the configuration")
    print("publish this DNS record, then start signing:")
    for line in txt_record_lines(record):
        print(line)
    return 0
