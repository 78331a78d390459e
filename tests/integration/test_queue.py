"""The durable queue (issue 8, docs/queue.md), through its real API and
`postbox queue`.

Nothing puts mail in the queue over SMTP yet, so the messages are queued by
tests/tools/queue_tool ($POSTBOX_QUEUE_TOOL), which calls the same
functions the daemon will (queue_commit_batch, queue_update,
bounce_prepare). Checked here: `postbox queue list|show|hold|release|
delete|flush` on those files (exit codes, one-line errors, a message locked
by a delivery is refused), an RFC 3464 bounce parsed with python's email
package, and a crash test: a process enqueueing batches is SIGKILLed; every
message it reported durable is intact after recovery, nothing partial is
left."""

import email
import email.policy
import email.utils
import fcntl
import os
import signal
import subprocess
import tempfile
import unittest

BIN = os.environ.get("POSTBOX_BIN", "postbox")
TOOL = os.environ.get("POSTBOX_QUEUE_TOOL", "queue_tool")

MESSAGE = (b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\n"
           b"Subject: quarterly figures\r\nMessage-ID: <m1@a.test>\r\n\r\n"
           b"The figures are attached.\r\n")


class QueueTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="postbox-queue-")
        self.data = os.path.join(self.tmp.name, "data")
        os.mkdir(self.data, 0o700)
        self.conf = os.path.join(self.tmp.name, "postbox.conf")
        with open(self.conf, "w") as f:
            f.write("[server]\nhostname = mx.a.test\ndata_dir = %s\n"
                    "domains = a.test\n" % self.data)

    def tearDown(self):
        self.tmp.cleanup()

    def tool(self, *args, input=None):
        p = subprocess.run([TOOL, args[0], self.data] + list(args[1:]), input=input,
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode().strip()

    def queue(self, *args):
        p = subprocess.run([BIN, "queue"] + list(args) + ["-c", self.conf],
                           capture_output=True, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def enqueue(self, *args):
        return self.tool("enqueue", *args, input=MESSAGE)

    def active(self):
        return sorted(os.listdir(os.path.join(self.data, "queue", "active")))

    def test_list_and_show(self):
        """list as mailq: id, age, size, sender, each recipient with its
        state, attempts and last error; show: the envelope and headers."""
        rc, out, _ = self.queue("list")
        self.assertEqual((rc, out), (0, "Mail queue is empty\n"))
        qid = self.enqueue("--envid", "E7", "alice@a.test", "bob@b.test=rfc822;Bob@b.test",
                           "carol@c.test")
        self.tool("attempt", qid, "0", "451", "mx.b.test",
                  "451-4.7.1 greylisted,\r\n451 4.7.1 come back")
        self.tool("attempt", qid, "1", "550", "mx.c.test", "550 5.1.1 no such user")
        rc, out, err = self.queue("list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "AGE", "SIZE", "SENDER"])
        head = lines[1].split()
        self.assertEqual(head[0], qid)
        self.assertEqual(head[3], "alice@a.test")
        size = os.path.getsize(os.path.join(self.data, "queue", "active", qid))
        self.assertEqual(int(head[2]), size)
        self.assertRegex(lines[2], r"^\s+deferred bob@b.test \(attempts 1, next in [45]m(\d+s)?\) "
                                   r"451-4\.7\.1 greylisted,  451 4\.7\.1 come back$")
        self.assertRegex(lines[3], r"^\s+bounced\s+carol@c.test \(attempts 1\) 550 5\.1\.1")
        self.assertEqual(lines[4], "-- 1 message, %d octets" % size)
        self.assertEqual(len(lines), 5)

        rc, out, err = self.queue("show", qid)
        self.assertEqual(rc, 0, err)
        self.assertIn("sender: alice@a.test\n", out)
        self.assertIn("envid: E7\n", out)
        self.assertIn("recipient: bob@b.test\n  state: deferred\n", out)
        self.assertIn("  orcpt: rfc822;Bob@b.test\n", out)
        self.assertIn("  remote: mx.c.test\n  reply: 550 5.1.1 no such user\n", out)
        # The headers as stored (LF), our Return-Path not among them.
        self.assertTrue(out.endswith("\n\nFrom: Alice <alice@a.test>\nTo: bob@b.test\n"
                                     "Subject: quarterly figures\nMessage-ID: <m1@a.test>\n"),
                        out)
        # What others wrote cannot drive the administrator's terminal.
        qid = self.tool("enqueue", "alice@a.test", "bob@b.test",
                        input=b"Subject: \x1b]0;owned\x07x\r\n\r\nbody\r\n")
        rc, out, _ = self.queue("show", qid)
        self.assertEqual(rc, 0)
        self.assertIn("Subject: ?]0;owned?x\n", out)
        self.assertNotIn("\x1b", out)

    def test_hold_release_delete(self):
        qid = self.enqueue("alice@a.test", "bob@b.test", "dan@d.test")
        rc, _, err = self.queue("hold", qid)
        self.assertEqual((rc, err), (0, ""))
        _, out, _ = self.queue("list")
        self.assertEqual(out.count(" held "), 2, out)
        rc, _, err = self.queue("release", qid)
        self.assertEqual((rc, err), (0, ""))
        _, out, _ = self.queue("list")
        self.assertEqual(out.count(" pending "), 2, out)
        # release asks the daemon to look (docs/queue.md).
        self.assertTrue(os.path.exists(os.path.join(self.data, "queue", "flush")))
        rc, _, err = self.queue("delete", qid)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.active(), [])
        rc, _, err = self.queue("delete", qid)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "postbox queue: %s: no such message in the queue\n" % qid)

    def test_locked_message_refused(self):
        """A message being delivered (its lock held: flock on the message
        file, as the delivery side takes it) is left alone."""
        qid = self.enqueue("alice@a.test", "bob@b.test")
        with open(os.path.join(self.data, "queue", "active", qid), "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            rc, _, err = self.queue("delete", qid)
            self.assertEqual(rc, 1)
            self.assertEqual(err, "postbox queue: %s: message is locked (being delivered)\n"
                             % qid)
            self.assertEqual(len(self.active()), 2)
        rc, _, err = self.queue("delete", qid)
        self.assertEqual((rc, err), (0, ""))

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_root_works_as_server_user(self):
        """Run as root with [server] user set, the command works as that
        user, so that the daemon (which runs as it) can still read, lock
        and remove what the command writes."""
        import pwd
        nobody = pwd.getpwnam("nobody")
        qid = self.enqueue("alice@a.test", "bob@b.test")
        with open(self.conf, "a") as f:
            f.write("user = nobody\n")
        for d, _, files in os.walk(self.data):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            for n in files:
                os.chown(os.path.join(d, n), nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.tmp.name, 0o755)
        rc, _, err = self.queue("release", qid)
        self.assertEqual((rc, err), (0, ""))
        st = os.stat(os.path.join(self.data, "queue", "flush"))
        self.assertEqual((st.st_uid, st.st_gid), (nobody.pw_uid, nobody.pw_gid))

    def test_all_and_flush(self):
        ids = [self.enqueue("alice@a.test", "r%d@b.test" % i) for i in range(3)]
        rc, _, err = self.queue("hold", "ALL")
        self.assertEqual((rc, err), (0, ""))
        _, out, _ = self.queue("list")
        self.assertEqual(out.count(" held "), 3)
        rc, _, err = self.queue("flush")
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(os.path.exists(os.path.join(self.data, "queue", "flush")))
        rc, _, err = self.queue("delete", "ALL")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(self.active(), [])
        self.assertEqual(len(ids), 3)

    def test_usage_errors(self):
        rc, out, _ = self.queue("--help")
        self.assertEqual(rc, 0)
        self.assertIn("postbox queue list", out)
        for args, msg in ((["bogus"], "unknown subcommand bogus (try --help)"),
                          ([], "missing subcommand: list, show, flush, delete, hold or "
                               "release (try --help)"),
                          (["show"], "show needs a queue ID"),
                          (["list", "X"], "list takes no ID"),
                          (["show", "../../etc"], "../../etc: bad queue id"),
                          (["show", "NOSUCH"], "NOSUCH: no such message in the queue")):
            rc, out, err = self.queue(*args)
            self.assertEqual(rc, 1, args)
            self.assertEqual(err, "postbox queue: %s\n" % msg)

    def test_corrupt_envelope_reported(self):
        qid = self.enqueue("alice@a.test", "bob@b.test")
        path = os.path.join(self.data, "queue", "active", qid + ".env")
        with open(path, "r+b") as f:
            f.truncate(40)
        rc, out, _ = self.queue("list")
        self.assertEqual(rc, 0)
        self.assertIn("%s" % qid, out)
        self.assertIn("(unreadable envelope: truncated envelope", out)
        rc, _, err = self.queue("show", qid)
        self.assertEqual(rc, 1)
        self.assertIn("truncated envelope", err)

    def parse_bounce(self, bid):
        with open(os.path.join(self.data, "queue", "active", bid), "rb") as f:
            raw = f.read()
        self.assertTrue(raw.startswith(b"Return-Path: <>\n"))
        return email.message_from_bytes(raw, policy=email.policy.default)

    def test_bounce_rfc3464(self):
        """RFC 3464: multipart/report; report-type=delivery-status, a
        human-readable part naming the recipient and the remote reply, a
        message/delivery-status part, the original as message/rfc822
        (RET=FULL, RFC 3461 4.3); the bounce itself has a null sender."""
        qid = self.enqueue("--ret", "FULL", "--envid", "QX-1", "alice@a.test",
                           "bob@b.test=rfc822;Bob@b.test", "carol@c.test")
        self.tool("attempt", qid, "0", "550", "mx.b.test", "550 5.1.1 <bob@b.test>: unknown")
        bid = self.tool("bounce", qid, "mx.a.test", "failed")
        msg = self.parse_bounce(bid)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertEqual(msg["To"].addresses[0].addr_spec, "alice@a.test")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertEqual(msg["Message-ID"], "<%s@mx.a.test>" % bid)
        text, status, original = msg.get_payload()
        self.assertEqual(text.get_content_type(), "text/plain")
        self.assertIn("<bob@b.test>: host mx.b.test said: 550 5.1.1 <bob@b.test>: unknown",
                      text.get_content())
        self.assertNotIn("carol", text.get_content())
        self.assertEqual(status.get_content_type(), "message/delivery-status")
        per_msg, per_rcpt = status.get_payload()
        self.assertEqual(per_msg["Reporting-MTA"], "dns; mx.a.test")
        self.assertEqual(per_msg["Original-Envelope-Id"], "QX-1")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(per_msg["Arrival-Date"]))
        self.assertEqual(per_rcpt["Final-Recipient"], "rfc822; bob@b.test")
        self.assertEqual(per_rcpt["Original-Recipient"], "rfc822;Bob@b.test")
        self.assertEqual(per_rcpt["Action"], "failed")
        self.assertEqual(per_rcpt["Status"], "5.1.1")
        self.assertEqual(per_rcpt["Remote-MTA"], "dns; mx.b.test")
        self.assertEqual(per_rcpt["Diagnostic-Code"], "smtp; 550 5.1.1 <bob@b.test>: unknown")
        self.assertEqual(original.get_content_type(), "message/rfc822")
        inner = original.get_payload()[0]
        self.assertEqual(inner["Subject"], "quarterly figures")
        self.assertEqual(inner.get_content(), "The figures are attached.\n")
        # The bounce is queued with the null sender, to the original sender.
        rc, out, _ = self.queue("show", bid)
        self.assertEqual(rc, 0)
        self.assertIn("sender: <>\n", out)
        self.assertIn("recipient: alice@a.test\n", out)
        self.assertIn("  notify: NEVER\n", out)
        # Never a bounce for a bounce (RFC 3464 2, RFC 5321 6.1).
        self.tool("attempt", bid, "0", "550", "mx.a.test", "550 5.1.1 gone")
        self.assertEqual(self.tool("bounce", bid, "mx.a.test", "failed"), "none")

    def test_delay_warning_headers_only(self):
        """A delay warning: Action: delayed, Will-Retry-Until, and only the
        original's headers (text/rfc822-headers, RFC 3462) without RET."""
        qid = self.enqueue("alice@a.test", "bob@b.test")
        self.tool("attempt", qid, "0", "451", "mx.b.test", "451 4.3.2 try later")
        msg = self.parse_bounce(self.tool("bounce", qid, "mx.a.test", "delayed"))
        self.assertIn("Delayed", msg["Subject"])
        _, status, original = msg.get_payload()
        per_rcpt = status.get_payload()[1]
        self.assertEqual(per_rcpt["Action"], "delayed")
        self.assertEqual(per_rcpt["Status"], "4.3.2")
        self.assertIsNotNone(email.utils.parsedate_to_datetime(per_rcpt["Will-Retry-Until"]))
        self.assertEqual(original.get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: quarterly figures", original.get_content())
        self.assertNotIn("attached", original.get_content())
        # NOTIFY=FAILURE: no delay warning for this recipient (RFC 3461 4.1).
        qid = self.enqueue("--notify", "FAILURE", "alice@a.test", "bob@b.test")
        self.tool("attempt", qid, "0", "451", "mx.b.test", "451 4.3.2 try later")
        self.assertEqual(self.tool("bounce", qid, "mx.a.test", "delayed"), "none")

    def test_crash_while_enqueueing(self):
        """kill -9 in the middle of enqueueing batches: every message
        reported durable ("ok ID", after its group commit) is intact after
        recovery at start; nothing partial is left anywhere."""
        oks = []
        for _ in range(2):
            p = subprocess.Popen([TOOL, "crash", self.data, "100000", "8"],
                                 stdout=subprocess.PIPE)
            for line in p.stdout:
                oks.append(line.decode().split()[1])
                if len(oks) % 40 == 17:       # mid-stream, between and in batches
                    break
            p.send_signal(signal.SIGKILL)
            p.wait()
            for line in p.stdout.read().decode().splitlines():
                oks.append(line.split()[1])
            p.stdout.close()
            self.tool("recover")
        self.assertGreater(len(oks), 30)
        names = set(self.active())
        for qid in oks:
            self.assertIn(qid, names)
            self.assertIn(qid + ".env", names)
            with open(os.path.join(self.data, "queue", "active", qid), "rb") as f:
                body = f.read()
            self.assertTrue(body.startswith(b"Return-Path: <s@a.test>\nSubject: %s\n\n"
                                            % qid.encode()), qid)
            self.assertEqual(len(body), 24 + 8191)
        # Whatever else survived is complete too: pairs that parse.
        ids = {n for n in names if not n.endswith(".env")}
        self.assertEqual({n[:-4] for n in names if n.endswith(".env")}, ids)
        rc, out, _ = self.queue("list")
        self.assertEqual(rc, 0)
        self.assertNotIn("unreadable", out)
        self.assertEqual(out.count("r@remote.test"), len(ids))
        self.assertEqual(os.listdir(os.path.join(self.data, "queue", "incoming")), [])


if __name__ == "__main__":
    unittest.main()
