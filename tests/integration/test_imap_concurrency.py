"""Many IMAP sessions on one mailbox at once (RFC 9051 5.5: a server must
serve several sessions on one mailbox; any command may run beside another
session's writes). Ten imaplib clients of the same user select, fetch,
store, expunge and append in INBOX, logging out and in again now and
then. Every command must be answered OK: a busy index makes a session
wait its turn, never fail with NO [SERVERBUG], and the log never shows
"database is locked".

Bounded work (iterations, not time), so the test lasts a few seconds on
a loaded machine and never depends on how fast it runs."""

import imaplib
import threading
import unittest

import pbtest

PW = pbtest.PASSWORD
USER = "v@a.test"
CLIENTS = 10
ROUNDS = 12          # per client
RELOGIN_EVERY = 4    # rounds


def tls_context():
    ctx = pbtest.client_tls_context()
    ctx.check_hostname = False
    return ctx


def message(i, n):
    return ("From: c%d@c.test\r\nTo: %s\r\nSubject: round %d of client %d\r\n\r\n"
            "body %d/%d\r\n" % (i, USER, n, i, i, n)).encode()


class TestOneMailboxManySessions(unittest.TestCase):
    def test_concurrent_sessions_never_fail(self):
        """RFC 9051 5.5 (multiple commands and sessions): ten sessions on
        one mailbox get only OK answers, and the index never reports
        "database is locked"."""
        with pbtest.Server(users=[USER], services=["imaps"],
                           limits={"connections_per_ip": 4 * CLIENTS}) as srv:
            port = srv.ports["imaps"]
            failures = []
            lock = threading.Lock()

            def fail(what):
                with lock:
                    failures.append(what)

            def check(i, what, res):
                typ, data = res
                # RFC 5530 3: another session's EXPUNGE may take messages
                # a FETCH asked for; that NO is the answer, a NO
                # [SERVERBUG] or a BAD is not.
                if typ == "NO" and data and b"[EXPUNGEISSUED]" in data[0]:
                    return
                if typ != "OK":
                    fail("client %d %s: %s %r" % (i, what, typ, data[:3]))

            def login():
                m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls_context(),
                                      timeout=60)
                m.login(USER, PW)
                return m

            def worker(i):
                m = None
                try:
                    for n in range(ROUNDS):
                        if m is None:
                            m = login()
                            check(i, "SELECT", m.select("INBOX"))
                        check(i, "APPEND", m.append("INBOX", None, None, message(i, n)))
                        check(i, "NOOP", m.noop())
                        check(i, "UID FETCH", m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)"))
                        check(i, "UID FETCH", m.uid("FETCH", "1:*",
                                                    "(BODY.PEEK[] ENVELOPE BODYSTRUCTURE)"))
                        check(i, "UID STORE", m.uid("STORE", "1:*", "+FLAGS", "(\\Seen)"))
                        typ, data = m.uid("SEARCH", None, "SUBJECT", '"client %d"' % i)
                        check(i, "UID SEARCH", (typ, data))
                        uids = data[0].split() if typ == "OK" and data[0] else []
                        if uids:
                            check(i, "UID STORE", m.uid("STORE", uids[0], "+FLAGS",
                                                        "(\\Deleted)"))
                            check(i, "EXPUNGE", m.expunge())
                        if n % RELOGIN_EVERY == RELOGIN_EVERY - 1:
                            m.logout()
                            m = None
                    if m is not None:
                        m.logout()
                except (imaplib.IMAP4.error, OSError) as e:
                    fail("client %d: %r" % (i, e))

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            log = srv.log_text()
            self.assertEqual(failures, [], "\n".join(failures[:20]) + "\nlog:\n" + srv.log_tail(40))
            self.assertNotIn("database is locked", log)
            self.assertNotIn("SERVERBUG", log)
            # Every client appended ROUNDS messages and expunged one per
            # round at most: the mailbox holds what is left, consistent.
            m = login()
            typ, data = m.select("INBOX")
            self.assertEqual(typ, "OK")
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            self.assertEqual(typ, "OK")
            m.logout()


if __name__ == "__main__":
    unittest.main()
