"""The streamed spool (issue 7): DATA and BDAT go to DATA/queue/ as they
arrive instead of into memory, and from there into each Maildir by hard
link. Memory is measured from outside (/proc/PID/status of the server)."""
import imaplib
import os
import signal
import time
import unittest

import pbtest

MIB = 1024 * 1024


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def body_lines(tag, size):
    """A message of about size octets whose every line names its sender
    and position, so that a byte out of place shows."""
    head = b"Subject: big %s\r\nFrom: <s@y.test>\r\n\r\n" % tag
    lines = []
    n = len(head)
    i = 0
    while n < size:
        line = b"%s line %08d " % (tag, i) + b"x" * 60 + b"\r\n"
        lines.append(line)
        n += len(line)
        i += 1
    return head + b"".join(lines)


class TestSpool(unittest.TestCase):
    def setUp(self):
        # Under ASan freed blocks wait in a quarantine (256 MiB by default)
        # before reuse: every octet that passed through the connection's
        # buffers would count as held. A small one measures the server.
        self.asan = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((self.asan + ":") if self.asan else "") + \
            "quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
        self.srv = pbtest.Server(users=("v@a.test", "w@a.test", "u@b.test"),
                                 limits={"message_size": 64 * MIB, "connections_per_ip": 50},
                                 services=("imap", "pop3"))
        self.srv.__enter__()

    def tearDown(self):
        self.srv.__exit__(None, None, None)
        if self.asan is None:
            os.environ.pop("ASAN_OPTIONS", None)
        else:
            os.environ["ASAN_OPTIONS"] = self.asan

    def queue_files(self):
        """Files of DATA/queue/: spool files in incoming/ (docs/queue.md),
        queued messages in active/, anything else at the top."""
        top = os.path.join(self.srv.data_dir, "queue")
        found = []
        for sub in ("", "incoming", "active"):
            try:
                found += [os.path.join(sub, n) for n in os.listdir(os.path.join(top, sub))
                          if not os.path.isdir(os.path.join(top, sub, n))]
            except FileNotFoundError:
                pass
        return found

    def settle(self):
        """One small message first: the server's idle memory includes
        what a first delivery sets up (threads, SQLite handles)."""
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: warm\r\n\r\nup\r\n")
            self.assertEqual(r.code, 250, r.raw)

    def interleaved(self, n, size, bdat=False, chunk=256 * 1024):
        """n sessions, each in its transaction at the same time: their
        content is sent round-robin chunk by chunk, so every message is
        half-received while the others are. Returns the bodies sent."""
        clients = [self.srv.client() for _ in range(n)]
        bodies = [body_lines(b"m%02d" % i, size) for i in range(n)]
        try:
            for c in clients:
                c.ehlo()
                c.expect("MAIL FROM:<s@y.test>", 250)
                c.expect("RCPT TO:<v@a.test>", 250)
                if not bdat:
                    c.expect("DATA", 354)
            wire = [b if bdat else pbtest.dot_stuff(b) for b in bodies]
            for off in range(0, max(len(w) for w in wire), chunk):
                for c, w in zip(clients, wire):
                    part = w[off:off + chunk]
                    if not part:
                        continue
                    if bdat:
                        last = off + chunk >= len(w)
                        c.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b"") + part)
                    else:
                        c.send(part)
            for c, w in zip(clients, wire):
                if bdat:
                    chunks = (len(w) + chunk - 1) // chunk
                    replies = c.replies(chunks)
                    self.assertEqual([r.code for r in replies], [250] * chunks)
                else:
                    c.send(b".\r\n")
                    r = c.reply()
                    self.assertEqual(r.code, 250, r.raw)
        finally:
            for c in clients:
                c.close()
        return bodies

    def assert_delivered(self, bodies, address="v@a.test"):
        got = {}
        for _, content in self.srv.maildir_messages(address):
            _, _, rest = pbtest.split_trace(content)
            got[rest.split(b"\n", 1)[0]] = rest
        for b in bodies:
            want = pbtest.to_lf(b)
            subject = want.split(b"\n", 1)[0]
            self.assertIn(subject, got)
            self.assertTrue(got[subject] == want, "%r differs" % subject)

    def test_concurrent_large_messages_bounded_memory(self):
        """Eight 6 MiB messages received at the same time add far less
        than one of them to the server's peak memory (VmHWM): each session
        holds a 64 KiB staging buffer, not its message (it held all 48 MiB
        before). Every message arrives byte for byte."""
        self.settle()
        pid = self.srv.proc.pid
        base = status_kib(pid, "VmRSS")
        bodies = self.interleaved(8, 6 * MIB)
        grew = status_kib(pid, "VmHWM") - base
        self.assertLess(grew, 24 * 1024, "peak grew by %d KiB" % grew)
        self.assert_delivered(bodies)
        self.assertEqual(self.queue_files(), [])

    def test_bdat_streamed(self):
        """RFC 3030: BDAT chunks stream into the spool too: four 6 MiB
        messages in 256 KiB chunks, at the same time, bounded memory,
        intact."""
        self.settle()
        pid = self.srv.proc.pid
        base = status_kib(pid, "VmRSS")
        bodies = self.interleaved(4, 6 * MIB, bdat=True)
        grew = status_kib(pid, "VmHWM") - base
        self.assertLess(grew, 16 * 1024, "peak grew by %d KiB" % grew)
        self.assert_delivered(bodies)
        self.assertEqual(self.queue_files(), [])

    def test_several_local_users_share_one_file(self):
        """One message to three local users is stored once: the three
        Maildir files are hard links of the one spool file (0600), which
        then leaves DATA/queue/."""
        body = b"Subject: to three\r\n\r\nshared\r\n"
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test", "w@a.test", "u@b.test"], body)
            self.assertEqual(r.code, 250, r.raw)
        inodes = set()
        for addr in ("v@a.test", "w@a.test", "u@b.test"):
            msgs = self.srv.maildir_messages(addr)
            self.assertEqual(len(msgs), 1)
            self.assertEqual(pbtest.split_trace(msgs[0][1])[2], pbtest.to_lf(body))
            st = os.stat(os.path.join(self.srv.maildir(addr), "new", msgs[0][0]))
            inodes.add(st.st_ino)
            self.assertEqual(st.st_nlink, 3)
            self.assertEqual(st.st_mode & 0o7777, 0o600)
        self.assertEqual(len(inodes), 1)
        self.assertEqual(self.queue_files(), [])

    def test_kill_after_250_loses_nothing(self):
        """The 250 comes after the message is in the Maildir (RFC 5321
        6.1): a SIGKILL right after it loses nothing, and the restarted
        server finds no spool file left over."""
        body = b"Subject: durable\r\n\r\nkept\r\n"
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], body)
            self.assertEqual(r.code, 250, r.raw)
            self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait()
        msgs = self.srv.maildir_messages("v@a.test")
        self.assertEqual(len(msgs), 1)
        self.assertEqual(pbtest.split_trace(msgs[0][1])[2], pbtest.to_lf(body))
        self.assertEqual(self.queue_files(), [])
        self.srv.start()
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], b"Subject: after\r\n\r\nx\r\n")
            self.assertEqual(r.code, 250, r.raw)

    def test_unacknowledged_spool_removed_at_start(self):
        """A spool file left by a crash mid-DATA was never acknowledged:
        the next start removes it (the client sends it again)."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<s@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: half\r\n\r\n" + b"y" * 200000)
            # The spool file exists while the message is arriving.
            for _ in range(200):
                if self.queue_files():
                    break
                time.sleep(0.05)
            self.assertEqual(len(self.queue_files()), 1)
            self.srv.proc.send_signal(signal.SIGKILL)
            self.srv.proc.wait()
        self.srv.start()
        self.assertEqual(self.queue_files(), [])
        self.assertEqual(self.srv.maildir_messages("v@a.test"), [])

    def test_refused_message_leaves_no_spool_file(self):
        """A message refused at its end (a bare LF, RFC 5321 2.3.8) and a
        transaction dropped by RSET after BDAT leave DATA/queue/ empty."""
        with self.srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<s@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: bad\r\n\r\nbare\nLF\r\n.\r\n")
            self.assertEqual(c.reply().code, 554)
            c.expect("MAIL FROM:<s@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.send(b"BDAT 5\r\nabcde")
            self.assertEqual(c.reply().code, 250)
            self.assertEqual(len(self.queue_files()), 1)
            c.expect("RSET", 250)
            self.assertEqual(self.queue_files(), [])
        self.assertEqual(self.srv.maildir_messages("v@a.test"), [])

    def test_uids_follow_delivery_order_within_a_second(self):
        """Issue 7: names are made of zero-padded fields, so messages
        delivered within one second get UIDs in delivery order (unpadded
        microseconds compared as strings put M95000 after M150000). Enough
        messages are sent to span more than a second."""
        srv = self.srv
        sent = 0
        start = time.monotonic()
        with srv.client() as c:
            c.ehlo()
            while sent < 40 or (time.monotonic() - start < 1.5 and sent < 400):
                r = c.send_message("x@y.test", ["w@a.test"],
                                   b"Subject: n%04d\r\n\r\nx\r\n" % sent, ehlo=False)
                self.assertEqual(r.code, 250, r.raw)
                sent += 1
        m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
        try:
            m.login("w@a.test", pbtest.PASSWORD)
            m.select("INBOX")
            typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertEqual(typ, "OK")
            subjects = [part[1].strip() for part in data if isinstance(part, tuple)]
            self.assertEqual(subjects, [b"Subject: n%04d" % i for i in range(sent)])
        finally:
            m.logout()


    def test_pop3_retr_streams_from_the_file(self):
        """RFC 1939 7: RETR of a 12 MiB message is read from its file in
        parts as the client drains its output, not into memory whole (it
        took a copy of the file and one of the reply, >= 24 MiB); the
        client gets every line, dot-stuffed and CRLF-ended."""
        import poplib
        body = body_lines(b"pop", 12 * MIB) + b".starts with a dot\r\nend\r\n"
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], body)
            self.assertEqual(r.code, 250, r.raw)
        p = poplib.POP3("127.0.0.1", self.srv.ports["pop3"], timeout=30)
        try:
            p.user("v@a.test")
            p.pass_(pbtest.PASSWORD)
            pid = self.srv.proc.pid
            # The login indexed the message (its own peak): the peak is
            # reset (proc(5) clear_refs) so that it measures RETR alone.
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")
            base = status_kib(pid, "VmRSS")
            resp, lines, octets = p.retr(1)
            grew = status_kib(pid, "VmHWM") - base
            self.assertTrue(resp.startswith(b"+OK"), resp)
            self.assertLess(grew, 8 * 1024, "peak grew by %d KiB" % grew)
        finally:
            p.quit()
        got = b"\n".join(lines) + b"\n"
        _, _, rest = pbtest.split_trace(got)
        self.assertTrue(rest == pbtest.to_lf(body), "RETR content differs")


    def imap_fetch_peak(self, m, items):
        pid = self.srv.proc.pid
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        base = status_kib(pid, "VmRSS")
        typ, data = m.fetch("1", items)
        self.assertEqual(typ, "OK")
        return data, status_kib(pid, "VmHWM") - base

    def test_imap_fetch_whole_message_streams(self):
        """RFC 9051 6.4.5: BODY.PEEK[], BODY[] and RFC822 of a 12 MiB
        message are sent from the file as the client drains its output
        (they read the file whole and copied it twice); the literal is
        exactly the file with CRLF line ends, and the session goes on."""
        body = body_lines(b"imap", 12 * MIB)
        with self.srv.client() as c:
            r = c.send_message("x@y.test", ["v@a.test"], body)
            self.assertEqual(r.code, 250, r.raw)
        name, content = self.srv.maildir_messages("v@a.test")[0]
        want = content.replace(b"\n", b"\r\n")
        m = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=60)
        try:
            m.login("v@a.test", pbtest.PASSWORD)
            m.select("INBOX")
            # The first look at the message indexes it (its MIME
            # structure): that has a peak of its own, not measured here.
            self.assertEqual(m.fetch("1", "(BODYSTRUCTURE)")[0], "OK")
            for items, name in (("(BODY.PEEK[])", b"BODY[]"), ("(UID RFC822)", b"RFC822"),
                                ("(BINARY.PEEK[])", b"BINARY[]"),
                                ("(FLAGS BODY[])", b"BODY[]")):
                data, grew = self.imap_fetch_peak(m, items)
                self.assertLess(grew, 8 * 1024, "%s: peak grew by %d KiB" % (items, grew))
                self.assertIn(name + b" {%d}" % len(want), data[0][0])
                self.assertTrue(data[0][1] == want, "%s: literal differs" % items)
            typ, data = m.fetch("1", "(FLAGS)")
            self.assertIn(b"\\Seen", data[0])
            # A file with CRLF line ends goes out as stored: the streamed
            # literal is the one a partial fetch (never streamed) gives.
            appended = b"Subject: native\r\n\r\n" + b"bare\nLF, " * 40000 + b"\r\nend\r\n"
            self.assertEqual(m.append("INBOX", None, None, appended)[0], "OK")
            lits = []
            for items in ("(BODY.PEEK[])", "(BODY.PEEK[]<0.99999999>)"):
                typ, data = m.fetch("2", items)
                self.assertEqual(typ, "OK")
                lits += [d[1] for d in data if isinstance(d, tuple)]
            self.assertEqual(len(lits), 2)
            self.assertGreater(len(lits[0]), 256 * 1024)
            self.assertTrue(lits[0] == lits[1], "streamed literal differs from partial")
            # RFC 3516 4.2: BINARY[] of a whole message holding NUL (stored
            # byte-exact from a literal8) streams as a ~{n} literal8, NUL
            # kept, as the never-streamed partial fetch sends it.
            binmsg = b"Subject: nul\r\n\r\n" + (b"a\0b\r\n" * 60000)
            m.send(b"b1 APPEND INBOX ~{%d}\r\n" % len(binmsg))
            self.assertTrue(m.readline().startswith(b"+"))
            m.send(binmsg + b"\r\n")
            while True:
                line = m.readline()
                self.assertTrue(line, "connection closed")
                if line.startswith(b"b1 "):
                    break
            self.assertTrue(line.startswith(b"b1 OK"), line)
            heads = []
            for items in ("(BINARY.PEEK[])", "(BINARY.PEEK[]<0.99999999>)"):
                m.send(b"b2 FETCH 3 %s\r\n" % items.encode())
                head = m.readline()
                heads.append(head)
                size = int(head.rsplit(b"{", 1)[1].split(b"}")[0])
                lit = m.read(size)
                while not m.readline().startswith(b"b2 "):
                    pass
                lits.append(lit)
            self.assertIn(b"BINARY[] ~{%d}" % len(binmsg), heads[0])
            self.assertTrue(lits[2] == binmsg, "BINARY[] literal8 differs from the stored message")
            self.assertTrue(lits[3] == binmsg, "partial BINARY[] differs")
        finally:
            m.logout()


if __name__ == "__main__":
    unittest.main()
