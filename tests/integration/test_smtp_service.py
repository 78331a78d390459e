"""SMTP MX service behaviour: connection limits per IP, command and data
timeouts, SIGHUP reload, SIGTERM graceful stop, disk full."""

import errno
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import pbtest
from pbtest import split_trace


class TestConnectionLimit(unittest.TestCase):
    def test_connections_per_ip_421(self):
        """Issue 2 [limits] connections_per_ip: the connection over the limit
        gets 421 4.7.0 and is closed (RFC 5321 3.1: 421 greeting); when
        one closes, a new one is served again."""
        with pbtest.Server(limits={"connections_per_ip": 5}) as srv:
            time.sleep(0.3)  # let the start-up probe's slot go
            clients = []
            try:
                for i in range(5):
                    c = srv.client()
                    self.assertEqual(c.greeting.code, 220, "connection %d: %r" % (i + 1,
                                                                                  c.greeting.raw))
                    clients.append(c)
                with srv.client() as extra:
                    self.assertEqual((extra.greeting.code, extra.greeting.enhanced()),
                                     (421, "4.7.0"), extra.greeting.raw)
                    extra.wait_closed(5)
                # the five are still served
                for c in clients:
                    self.assertEqual(c.cmd("NOOP").code, 250)
                clients.pop().cmd("QUIT")
                deadline = time.monotonic() + 5
                while True:
                    with srv.client() as again:
                        if again.greeting.code == 220:
                            again.ehlo()
                            break
                    self.assertLess(time.monotonic(), deadline, "slot never freed")
                    time.sleep(0.1)
            finally:
                for c in clients:
                    c.close()


class TestTotalConnections(unittest.TestCase):
    def test_connections_total_421(self):
        """DESIGN.md [limits] connections: over the total, 421 4.7.0."""
        with pbtest.Server(limits={"connections": 3, "connections_per_service": 3,
                                   "connections_per_ip": 10}) as srv:
            time.sleep(0.3)
            clients = [srv.client() for _ in range(3)]
            try:
                self.assertEqual([c.greeting.code for c in clients], [220] * 3)
                with srv.client() as extra:
                    self.assertEqual((extra.greeting.code, extra.greeting.enhanced()),
                                     (421, "4.7.0"), extra.greeting.raw)
            finally:
                for c in clients:
                    c.close()


class TestStalledTlsSlots(unittest.TestCase):
    def test_stalled_starttls_clients_release_their_slots(self):
        """RFC 5321 4.5.3.2, [limits] connections_per_ip: clients that stall
        after STARTTLS are timed out ([limits] timeout_tls), so they cannot
        lock their address out for ever."""
        with pbtest.Server(limits={"connections_per_ip": 2, "timeout_command": 2,
                                   "timeout_tls": 2}) as srv:
            time.sleep(0.3)
            stalled = []
            try:
                for _ in range(2):
                    c = srv.client()
                    c.ehlo()
                    self.assertEqual(c.cmd("STARTTLS").code, 220)
                    stalled.append(c)
                deadline = time.monotonic() + 12
                while True:
                    with srv.client() as c:
                        if c.greeting.code == 220:
                            break
                    self.assertLess(time.monotonic(), deadline,
                                    "address still locked out 12 s after 2 s timeouts")
                    time.sleep(0.5)
            finally:
                for c in stalled:
                    c.close()


class TestTimeouts(unittest.TestCase):
    def test_command_timeout_421_442(self):
        """RFC 5321 4.5.3.2.7, issue 2: a silent client gets 421 4.4.2 after
        [limits] timeout_command and is disconnected."""
        with pbtest.Server(limits={"timeout_command": 2}) as srv, srv.client() as c:
            c.ehlo()
            t0 = time.monotonic()
            r = c.reply(timeout=15)
            elapsed = time.monotonic() - t0
            self.assertEqual((r.code, r.enhanced()), (421, "4.4.2"), r.raw)
            self.assertGreater(elapsed, 1.5)
            self.assertEqual(c.wait_closed(5), b"")

    def test_timeout_before_ehlo_and_in_transaction(self):
        """RFC 5321 4.5.3.2: the timeout applies right after the greeting
        and in the middle of a transaction (nothing is delivered)."""
        with pbtest.Server(limits={"timeout_command": 2}) as srv:
            with srv.client() as c:
                r = c.reply(timeout=15)
                self.assertEqual(r.code, 421, r.raw)
                c.wait_closed(5)
            with srv.client() as c:
                c.ehlo()
                c.expect("MAIL FROM:<x@y.test>", 250)
                c.expect("RCPT TO:<v@a.test>", 250)
                r = c.reply(timeout=15)
                self.assertEqual((r.code, r.enhanced()), (421, "4.4.2"), r.raw)
                c.wait_closed(5)
            self.assertEqual(srv.all_delivered(), {})

    def test_activity_resets_timeout(self):
        """RFC 5321 4.5.3.2: the timeout is per command, not per session."""
        with pbtest.Server(limits={"timeout_command": 2}) as srv, srv.client() as c:
            c.ehlo()
            for _ in range(4):
                time.sleep(1.0)
                self.assertEqual(c.cmd("NOOP").code, 250)

    def test_data_timeout(self):
        """RFC 5321 4.5.3.2.6: a client that stalls inside DATA gets 421
        4.4.2 after [limits] timeout_data; the partial message is not
        delivered."""
        with pbtest.Server(limits={"timeout_command": 30, "timeout_data": 2}) as srv, \
                srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: partial\r\n\r\nhalf a mess")
            r = c.reply(timeout=20)
            self.assertEqual((r.code, r.enhanced()), (421, "4.4.2"), r.raw)
            c.wait_closed(5)
            self.assertEqual(srv.all_delivered(), {})


class TestSignals(unittest.TestCase):
    def wait_size(self, srv, size, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            with srv.client() as c:
                lines = c.ehlo().lines
            if "SIZE %d" % size in lines:
                return lines
            if time.monotonic() > deadline:
                self.fail("EHLO never showed SIZE %d: %r; log:\n%s"
                          % (size, lines, srv.log_tail()))
            time.sleep(0.1)

    def test_sighup_reloads_config(self):
        """Issue 2, DESIGN.md: SIGHUP reloads the config: a new
        message_size shows in EHLO SIZE and is enforced; an open session
        keeps working."""
        with pbtest.Server(limits={"message_size": 1000000}) as srv:
            old = srv.client()
            old.ehlo()
            self.wait_size(srv, 1000000)
            srv.write_config(message_size=2000)
            srv.signal(signal.SIGHUP)
            self.wait_size(srv, 2000)
            with srv.client() as c:
                c.ehlo()
                r = c.cmd("MAIL FROM:<x@y.test> SIZE=3000")
                self.assertEqual((r.code, r.enhanced()), (552, "5.3.4"), r.raw)
            self.assertEqual(old.cmd("NOOP").code, 250)
            old.close()

    def test_sighup_reloads_domains(self):
        """DESIGN.md: SIGHUP reloads [server] domains: a domain added is
        local at once (550 for an unknown user instead of 554 relay
        denied); a domain removed is relaying again."""
        with pbtest.Server() as srv:
            def rcpt(addr):
                with srv.client() as c:
                    c.ehlo()
                    c.expect("MAIL FROM:<x@y.test>", 250)
                    return c.cmd("RCPT TO:<%s>" % addr)
            self.assertEqual(rcpt("v@c.test").code, 554)
            srv.domains = ["a.test", "c.test"]
            srv.write_config()
            srv.signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while rcpt("v@c.test").code != 550:
                self.assertLess(time.monotonic(), deadline, srv.log_tail())
                time.sleep(0.1)
            r = rcpt("u@b.test")
            self.assertEqual((r.code, r.enhanced()), (554, "5.7.1"), r.raw)
            self.assertEqual(rcpt("v@a.test").code, 250)

    def test_sighup_reloads_certificate(self):
        """DESIGN.md, issue 2: SIGHUP reloads the TLS certificate; the next
        STARTTLS presents the new one."""
        import ssl
        with pbtest.Server() as srv:
            def peer_cert(cafile):
                with srv.client() as c:
                    c.ehlo()
                    self.assertEqual(c.cmd("STARTTLS").code, 220)
                    ctx = ssl.create_default_context(cafile=cafile)
                    s = ctx.wrap_socket(c.sock, server_hostname=pbtest.HOSTNAME)
                    c.sock = s
                    return s.getpeercert(binary_form=True)
            old_cert, _ = pbtest.cert_files()
            peer_cert(old_cert)
            srv.cert, srv.key = pbtest.make_cert(srv.tmp, "second")
            srv.write_config()
            srv.signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while True:
                try:
                    der = peer_cert(srv.cert)
                    break
                except ssl.SSLError:
                    self.assertLess(time.monotonic(), deadline,
                                    "new certificate never served; log:\n" + srv.log_tail())
                    time.sleep(0.1)
            with open(srv.cert) as f:
                self.assertEqual(der, ssl.PEM_cert_to_DER_cert(f.read()))

    def test_sighup_bad_config_keeps_running(self):
        """DESIGN.md: a broken config on SIGHUP is reported and the running
        configuration stays."""
        with pbtest.Server(limits={"message_size": 1000000}) as srv:
            with open(srv.conf, "a") as f:
                f.write("\n[limits]\nmessage_size = not-a-number\n")
            srv.signal(signal.SIGHUP)
            time.sleep(0.5)
            self.assertIsNone(srv.proc.poll(), "server died on a bad reload")
            self.wait_size(srv, 1000000)
            self.assertIn("reload", srv.log_text())

    def test_sigterm_idle_exits_0(self):
        """DESIGN.md: SIGTERM on an idle server exits 0 promptly."""
        with pbtest.Server() as srv:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_with_session_421_432(self):
        """RFC 5321 3.8, issue 2: on SIGTERM an open session gets 421 4.3.2
        and is closed; the server exits 0; new connections are refused."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            srv.signal(signal.SIGTERM)
            r = c.reply(timeout=10)
            self.assertEqual((r.code, r.enhanced()), (421, "4.3.2"), r.raw)
            c.wait_closed(5)
            self.assertEqual(srv.stop(), 0)
            with self.assertRaises(OSError):
                pbtest.Client(srv.port, timeout=2)

    def test_sigterm_during_data_no_partial_delivery(self):
        """DESIGN.md durability: a message cut off by shutdown is not
        delivered (no file in new/ or tmp/) and the client got no 250."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            c.expect("MAIL FROM:<x@y.test>", 250)
            c.expect("RCPT TO:<v@a.test>", 250)
            c.expect("DATA", 354)
            c.send(b"Subject: cut\r\n\r\nfirst half\r\n")
            time.sleep(0.2)
            srv.signal(signal.SIGTERM)
            try:
                r = c.reply(timeout=10)
                self.assertEqual(r.code, 421, r.raw)
            except pbtest.ProtocolError:
                pass  # closed without a reply: acceptable, nothing acknowledged
            self.assertEqual(srv.stop(), 0)
            self.assertEqual(srv.all_delivered(), {})

    def test_sigterm_with_client_in_tls_handshake(self):
        """DESIGN.md graceful stop: a client that sent STARTTLS and stalls
        before its ClientHello does not hold up SIGTERM (exit 0 within 10 s)."""
        with pbtest.Server() as srv, srv.client() as c:
            c.ehlo()
            self.assertEqual(c.cmd("STARTTLS").code, 220)
            self.assertEqual(srv.stop(), 0)

    def test_many_reloads(self):
        """DESIGN.md: SIGHUP reloads keep working however often an
        administrator (or a certificate renewal job) sends them: the 70th
        reload still takes effect."""
        with pbtest.Server(limits={"message_size": 100000}) as srv:
            for i in range(1, 71):
                srv.write_config(message_size=100000 + i)
                srv.signal(signal.SIGHUP)
                time.sleep(0.05)
            self.wait_size(srv, 100070, timeout=10)

    def test_sigterm_under_load_keeps_every_acknowledged_message(self):
        """DESIGN.md durability and graceful stop: SIGTERM while 6 sessions
        are sending; every message that got its 250 is in new/, sessions end
        with 421 4.3.2 (not a reset), the server exits 0."""
        import threading
        with pbtest.Server(limits={"connections_per_ip": 20}) as srv:
            acked, problems = [], []
            stop_at = time.monotonic() + 30

            def worker(n):
                try:
                    with srv.client() as c:
                        c.ehlo()
                        i = 0
                        while time.monotonic() < stop_at:
                            tag = b"w%d-m%d" % (n, i)
                            c.send(b"MAIL FROM:<x@y.test>\r\n")
                            r = c.reply()
                            if r.code == 421:
                                return
                            c.send(b"RCPT TO:<v@a.test>\r\nDATA\r\n")
                            rs = [c.reply(), c.reply()]
                            if rs[-1].code != 354:
                                if any(x.code != 421 for x in rs if x.code // 100 != 2):
                                    problems.append([x.raw for x in rs])
                                return
                            c.send(b"Subject: " + tag + b"\r\n\r\n" + tag + b"\r\n.\r\n")
                            r = c.reply()
                            if r.code == 250:
                                acked.append(tag)
                            elif r.code != 421:
                                problems.append(r.raw)
                                return
                            i += 1
                except pbtest.ProtocolError as e:
                    if "closed" not in str(e):
                        problems.append(str(e)[:300])
                except OSError:
                    pass  # we wrote after the server's 421 and close: fine
                except Exception as e:
                    problems.append(repr(e))

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            srv.signal(signal.SIGTERM)
            for t in threads:
                t.join(40)
            self.assertEqual(srv.stop(), 0)
            self.assertGreater(len(acked), 0)
            on_disk = [split_trace(m)[2] for _, m in srv.maildir_messages("v@a.test")]
            for tag in acked:
                self.assertIn(b"Subject: " + tag + b"\n\n" + tag + b"\n", on_disk,
                              "message %s acknowledged but not in new/" % tag.decode())
            self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])
            self.assertEqual(problems, [])

    def test_sigint_stops_too(self):
        """DESIGN.md: SIGINT (Ctrl-C in make run) stops cleanly with status 0."""
        with pbtest.Server() as srv:
            srv.signal(signal.SIGINT)
            self.assertEqual(srv.proc.wait(10), 0)
            self.assertEqual(srv.stop(), 0)


class TestDiskFull(unittest.TestCase):
    def test_disk_full_452_431_no_partial_file(self):
        """Issue 2: a full disk gives 452 4.3.1 (RFC 3463 4.3.1, RFC 5321
        4.2.2) at the end of DATA and leaves no partial file in tmp/ or
        new/; after space is freed delivery works again."""
        if os.geteuid() != 0:
            self.skipTest("disk-full test needs root to mount a tmpfs")
        mnt = tempfile.mkdtemp(prefix="pbtest-tmpfs-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            os.rmdir(mnt)
            self.skipTest("mount -t tmpfs not permitted here: %s" % p.stdout.decode().strip())
        try:
            self._run_full(os.path.join(mnt, "data"))
        finally:
            subprocess.run(["umount", "-l", mnt])
            os.rmdir(mnt)

    def _run_full(self, data_dir):
        with pbtest.Server(data_dir=data_dir) as srv:
            with srv.client() as c:
                r = c.send_message("x@y.test", ["v@a.test"], b"Subject: first\r\n\r\nfits\r\n")
                self.assertEqual(r.code, 250, r.raw)
            filler = os.path.join(data_dir, "filler")
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                block = b"\0" * 4096
                while True:
                    try:
                        if os.write(fd, block) == 0:
                            break
                    except OSError as e:
                        self.assertEqual(e.errno, errno.ENOSPC)
                        if len(block) == 1:
                            break
                        block = block[:len(block) // 2]  # fill the last partial block too
            finally:
                os.close(fd)
            body = b"Subject: no room\r\n\r\n" + b"x" * 70 + b"\r\n"
            body = body * 300
            with srv.client() as c:
                r = c.send_message("x@y.test", ["v@a.test"], body)
                self.assertEqual((r.code, r.enhanced()), (452, "4.3.1"), r.raw)
                self.assertEqual(len(srv.maildir_messages("v@a.test")), 1)
                self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])
                self.assertEqual(c.cmd("NOOP").code, 250)
                os.unlink(filler)
                r = c.send_message("x@y.test", ["v@a.test"], body, ehlo=False)
                self.assertEqual(r.code, 250, r.raw)
            msgs = srv.maildir_messages("v@a.test")
            self.assertEqual(len(msgs), 2)
            self.assertEqual(split_trace(msgs[-1][1])[2], pbtest.to_lf(body))
            self.assertEqual(srv.maildir_messages("v@a.test", "tmp"), [])


if __name__ == "__main__":
    unittest.main()
