"""A real SMTP server for Roster's integration tests (aiosmtpd, started by `./dev test`).

Two listeners on 127.0.0.1:
  --plain-port  plain SMTP, no authentication;
  --tls-port    STARTTLS required before anything else, then AUTH (PLAIN/LOGIN) with
                --user/--password required before MAIL.
Every delivered message is written to --out as one JSON file
({"port", "mail_from", "rcpt_tos", "subject", "content_type", "text", "html", "data"}, the
subject and parts decoded), renamed into place once complete so a reader never
sees half a file. Runs until SIGTERM/SIGINT.
"""

import argparse
import email
import email.policy
import json
import os
import signal
import ssl
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, out, port):
        self.out = out
        self.port = port

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        plain = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        message = {
            "port": self.port,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            # Decoded for the tests' convenience (RFC 2047 subject, quoted-printable parts).
            "subject": str(parsed["subject"] or ""),
            "content_type": parsed.get_content_type(),
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
            "data": data.decode("utf-8", "replace"),
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(self.out, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(message, f)
        os.replace(tmp, os.path.join(self.out, f"{name}.json"))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain-port", type=int, required=True)
    parser.add_argument("--tls-port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        # handled=False: aiosmtpd itself answers 535 to a failed attempt.
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

    plain = Controller(Saver(args.out, args.plain_port), hostname="127.0.0.1", port=args.plain_port)
    secure = Controller(
        Saver(args.out, args.tls_port),
        hostname="127.0.0.1",
        port=args.tls_port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    plain.start()
    secure.start()
    print(f"SMTP test servers on 127.0.0.1:{args.plain_port} (plain) and :{args.tls_port} (STARTTLS + AUTH), messages in {args.out}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    plain.stop()
    secure.stop()


if __name__ == "__main__":
    main()
