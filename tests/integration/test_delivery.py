"""Remote delivery from the queue (issue 8): a postbox at a.test hands
queued mail to the MX of b.test, another postbox on 127.0.0.3, found
through a dnsmasq that the test starts (RFC 5321 5.1); failures for
good come back as RFC 3464 bounces, parsed with python3's email
package; a far side that is down is retried after `postbox queue
flush`.

Messages enter a.test's queue through tests/tools/queue_tool (the real
queue API), as submission and sendmail will."""

import email
import email.policy
import os
import socket
import subprocess
import threading
import time
import unittest

import pbtest

MESSAGE = (b"From: Alice <alice@a.test>\r\n"
           b"To: Bob <bob@b.test>\r\n"
           b"Subject: over the wire\r\n"
           b"Message-ID: <m1@a.test>\r\n"
           b"\r\n"
           b"line one\r\n"
           b".a line that starts with a dot\r\n"
           b"last line\r\n")


def enqueue(server, sender, rcpts, data=MESSAGE):
    """Queues data at server (its data directory) with the queue's own
    code; returns the queue id."""
    tool = os.environ["POSTBOX_QUEUE_TOOL"]
    p = subprocess.run([tool, "enqueue", server.data_dir, sender] + list(rcpts),
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, check=True)
    return p.stdout.decode().strip()


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = check()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError("waited %.0f s for %s" % (timeout, what))


class Pair:
    """b.test: a postbox listening on 127.0.0.3 (the MX), with the user
    bob@b.test; a.test: a postbox whose [dns] is a dnsmasq saying so,
    with the user alice@a.test. a is prepared but not started: queue
    first, then a.start()."""

    def __init__(self, b_running=True, dns_extra=None, a_extra="",
                 b_users=("bob@b.test",), b_domains=("b.test",), a_services=()):
        self.a_services = list(a_services)
        self.b_running = b_running
        self.b_users = b_users
        self.b_domains = b_domains
        self.dns_extra = dns_extra or {}
        self.a_extra = a_extra

    def __enter__(self):
        self.b = pbtest.Server(users=self.b_users, domains=self.b_domains,
                               listen={"smtp": ["127.0.0.3:{port}"]},
                               start=self.b_running).__enter__()
        mx = {"b.test": [(10, "mx.b.test")]}
        mx.update(self.dns_extra.get("mx", {}))
        self.dns = pbtest.DNS(mx=mx, hosts={"mx.b.test": ["127.0.0.3"]},
                              null_mx=self.dns_extra.get("null_mx", ())).__enter__()
        extra = ("[dns]\nservers = %s\n[delivery]\nsmtp_port = %d\nbind = 127.0.0.2\n%s"
                 % (self.dns.server, self.b.port, self.a_extra))
        self.a = pbtest.Server(users=("alice@a.test",), domains=("a.test",), start=False,
                               services=self.a_services,
                               extra=extra,
                               env={"POSTBOX_CONNECT_TIMEOUT_MS": "3000"}).__enter__()
        return self

    def __exit__(self, *exc):
        for x in (self.a, self.dns, self.b):
            x.__exit__(*exc)


class RemoteDeliveryTest(unittest.TestCase):

    def test_queued_message_reaches_the_mx_of_its_domain(self):
        """RFC 5321 5.1: the MX host of b.test gets the message, with the
        content intact (dot-stuffing undone at the far side), and the log
        has Postfix's status=sent line with the remote reply."""
        with Pair() as p:
            qid = enqueue(p.a, "alice@a.test", ["bob@b.test"])
            p.a.start()
            msgs = wait_for("delivery at b.test",
                            lambda: p.b.maildir_messages("bob@b.test"))
            raw = msgs[0][1]
            self.assertIn(b"\n.a line that starts with a dot\n", raw)
            self.assertIn(b"Subject: over the wire\n", raw)
            self.assertIn(b"Return-Path: <alice@a.test>\n", raw)
            # Our own final-delivery Return-Path did not travel along.
            self.assertEqual(raw.count(b"Return-Path:"), 1)
            log = wait_for("the log line", lambda: "status=sent" in p.a.log_text()
                           and p.a.log_text())
            self.assertRegex(log, r"delivery %s: to=<bob@b\.test>, relay=mx\.b\.test"
                             r"\[127\.0\.0\.3\]:%d, delay=\d+, attempts=1, "
                             r"dsn=2\.\d\.\d, status=sent \(250 " % (qid, p.b.port))
            listing = wait_for("an empty queue",
                               lambda: (lambda o: o if qid not in o else None)(
                                   p.a.cli("queue", "list").stdout.decode() or "empty"))
            self.assertNotIn(qid, listing)

    def test_unknown_user_bounces_to_the_local_sender(self):
        """RFC 3464: b.test refuses the recipient (550 5.1.1); alice gets a
        multipart/report naming it, with the remote reply, in her
        Maildir at a.test."""
        with Pair() as p:
            enqueue(p.a, "alice@a.test", ["nobody@b.test"])
            p.a.start()
            msgs = wait_for("the bounce", lambda: p.a.maildir_messages("alice@a.test"))
            raw = msgs[0][1]
            self.assertIn(b"Return-Path: <>\n", raw)
            m = email.message_from_bytes(raw, policy=email.policy.default)
            self.assertEqual(m.get_content_type(), "multipart/report")
            self.assertEqual(m.get_param("report-type"), "delivery-status")
            parts = list(m.iter_parts())
            self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
            status = parts[1].as_string()
            self.assertIn("Final-Recipient: rfc822; nobody@b.test", status)
            self.assertIn("Action: failed", status)
            self.assertIn("Status: 5.1.1", status)
            self.assertIn("Remote-MTA: dns; mx.b.test", status)
            self.assertIn("Diagnostic-Code: smtp; 550", status)
            self.assertIn("over the wire", parts[2].as_string())
            # The bounce goes out before the recipient's state is written
            # and logged (a crash costs a duplicate, never a lost bounce).
            wait_for("the log line", lambda: "status=bounced" in p.a.log_text())

    def test_null_mx_bounces_at_once(self):
        """RFC 7505 3: a domain with a null MX accepts no mail: 5.1.10,
        without a connection attempt."""
        with Pair(dns_extra={"null_mx": ["nomail.test"]}) as p:
            enqueue(p.a, "alice@a.test", ["x@nomail.test"])
            p.a.start()
            msgs = wait_for("the bounce", lambda: p.a.maildir_messages("alice@a.test"))
            m = email.message_from_bytes(msgs[0][1], policy=email.policy.default)
            status = list(m.iter_parts())[1].as_string()
            self.assertIn("Status: 5.1.10", status)
            self.assertIn("Final-Recipient: rfc822; x@nomail.test", status)

    def test_far_side_down_then_up_after_queue_flush(self):
        """The MX is down: the recipient is deferred (4.4.1, kept in the
        queue with its error); once it is up, `postbox queue flush`
        delivers at once instead of after the retry interval."""
        with Pair(b_running=False) as p:
            qid = enqueue(p.a, "alice@a.test", ["bob@b.test"])
            p.a.start()
            wait_for("the deferral", lambda: "status=deferred" in p.a.log_text())
            listing = p.a.cli("queue", "list").stdout.decode()
            self.assertIn(qid, listing)
            self.assertIn("bob@b.test", listing)
            self.assertIn("deferred", listing)
            p.b.start()
            p.a.cli("queue", "flush")
            wait_for("delivery at b.test", lambda: p.b.maildir_messages("bob@b.test"))
            wait_for("status=sent", lambda: "status=sent" in p.a.log_text())

    def test_submitted_at_a_read_at_b(self):
        """The mission's path: a client submits at a.test (587, STARTTLS,
        AUTH, RFC 6409), a.test's queue finds b.test's MX and hands the
        message over; it arrives at b.test with a.test's Received: field,
        and a local Bcc copy is in alice's own Maildir."""
        with Pair(a_services=["submission"]) as p:
            p.a.start()
            import smtplib
            import ssl
            ctx = ssl.create_default_context(cafile=pbtest.cert_files()[0])
            ctx.check_hostname = False
            with smtplib.SMTP("127.0.0.1", p.a.ports["submission"], timeout=30) as c:
                c.starttls(context=ctx)
                c.login("alice@a.test", pbtest.PASSWORD)
                c.sendmail("alice@a.test", ["bob@b.test", "alice@a.test"],
                           b"From: alice@a.test\r\nTo: bob@b.test\r\n"
                           b"Subject: submitted\r\n\r\nhello b\r\n")
            msgs = wait_for("delivery at b.test", lambda: p.b.maildir_messages("bob@b.test"))
            raw = msgs[0][1]
            self.assertIn(b"Subject: submitted\n", raw)
            self.assertIn(b"hello b\n", raw)
            self.assertIn(b"with ESMTPSA", raw)       # a.test's Received (RFC 3848)
            self.assertIn(b"Message-ID: <", raw)      # added at submission (RFC 6409 8.3)
            self.assertEqual(len(p.a.maildir_messages("alice@a.test")), 1)

    def test_route_overrides_mx(self):
        """[routes] sends a domain's mail to a fixed next hop, without MX
        lookup: here b.test's mail goes to 127.0.0.3 although the DNS
        names no MX for other.test."""
        with Pair(a_extra="[routes]\nother.test = 127.0.0.3\n",
                  b_users=("carol@other.test",), b_domains=("b.test", "other.test")) as p:
            enqueue(p.a, "alice@a.test", ["carol@other.test"])
            p.a.start()
            wait_for("delivery through the route",
                     lambda: p.b.maildir_messages("carol@other.test"))


class FarSide:
    """A far side scripted with python's socket module on 127.0.0.4: for
    each connection, script(n, conn) (n counts connections from 0) talks
    SMTP by hand. Lines the client sent are in .seen (bytes)."""

    def __init__(self, script):
        self.script = script
        self.seen = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.4", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.n = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(20)
                try:
                    self.script(self.n, FarConn(conn, self.seen))
                except OSError:
                    pass
            self.n += 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FarConn:
    def __init__(self, conn, seen):
        self.conn = conn
        self.seen = seen
        self.buf = b""

    def say(self, data):
        self.conn.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.conn.recv(65536)
            if not d:
                raise OSError("closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        self.seen.append(line + b"\n")
        return line

    def until_dot(self):
        while self.line() != b".\r":
            pass

    def dialog(self, rcpt_reply=b"250 2.1.5 ok", end_reply=b"250 2.0.0 taken"):
        """A plain server up to the end of data; returns after its reply."""
        self.say(b"220 far.test ESMTP\r\n")
        self.line()
        self.say(b"250-far.test\r\n250 8BITMIME\r\n")
        self.line()                       # MAIL
        self.say(b"250 2.1.0 ok\r\n")
        self.line()                       # RCPT
        self.say(rcpt_reply + b"\r\n")
        if not rcpt_reply.startswith(b"2"):
            self.line()                   # QUIT (or RSET)
            return
        self.line()                       # DATA
        self.say(b"354 go\r\n")
        self.until_dot()
        self.say(end_reply + b"\r\n")
        self.line()                       # QUIT
        self.say(b"221 bye\r\n")


def far_pair(far):
    return Pair(a_extra="[routes]\nfar.test = 127.0.0.4:%d\n" % far.port)


class FarSideTest(unittest.TestCase):
    """RFC 5321 4.2.1 and 4.5.3.2 against a scripted far side: a 4xx is
    retried, a connection lost in the middle of DATA is not taken for a
    delivery, and a reply beyond every bound is a protocol error, not a
    crash or a hang."""

    def deferred(self, p):
        """Queues one message for far.test, starts a.test and waits for the
        first attempt's deferral; returns the queue id."""
        qid = enqueue(p.a, "alice@a.test", ["x@far.test"])
        p.a.start()
        wait_for("the deferral", lambda: "status=deferred" in p.a.log_text())
        self.assertIn(qid, p.a.cli("queue", "list").stdout.decode())
        return qid

    def test_4xx_then_2xx(self):
        def script(n, c):
            c.dialog(rcpt_reply=b"451 4.7.1 greylisted, come back" if n == 0 else
                     b"250 2.1.5 ok")
        with FarSide(script) as far, far_pair(far) as p:
            self.deferred(p)
            self.assertIn("451 4.7.1 greylisted", p.a.log_text())
            p.a.cli("queue", "flush")
            wait_for("the delivery", lambda: "status=sent" in p.a.log_text())
            self.assertIn(b"Subject: over the wire\r\n", b"".join(far.seen))

    def test_connection_dropped_mid_data_is_deferred(self):
        def script(n, c):
            c.say(b"220 far.test ESMTP\r\n")
            for reply in (b"250 far.test", b"250 ok", b"250 ok", b"354 go"):
                c.line()
                c.say(reply + b"\r\n")
            c.line()                      # one line of content, then gone
        with FarSide(script) as far, far_pair(far) as p:
            self.deferred(p)
            self.assertNotIn("status=sent", p.a.log_text())

    def test_overlong_and_garbage_replies(self):
        """RFC 5321 4.5.3.1.5 bounds a reply line at 512 octets; we take up to
        2048 and call anything beyond (here 100 KB of one line, then a
        garbage code) a protocol error: deferred, the daemon unharmed."""
        def script(n, c):
            if n == 0:
                c.say(b"220-" + b"x" * 100000 + b"\r\n220 ok\r\n")
            else:
                c.say(b"22O not a code\r\n")
            c.line()
        with FarSide(script) as far, far_pair(far) as p:
            qid = self.deferred(p)
            p.a.cli("queue", "flush")
            wait_for("a second deferral",
                     lambda: p.a.log_text().count("status=deferred") >= 2)
            self.assertIn(qid, p.a.cli("queue", "list").stdout.decode())
            with p.a.client() as c:     # still serving
                c.ehlo()


if __name__ == "__main__":
    unittest.main()
