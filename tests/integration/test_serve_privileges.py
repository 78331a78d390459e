"""postbox serve binds its ports as root, then runs as [server] user
(DESIGN.md, "Configuration file" and "Guarantees"; issue 2, "root drops to
[server] user after binding"; issue 7, "Files and privileges"): it refuses
to keep root unless told so, `postbox init` writes user = postbox, and a
small privileged parent reloads a root-only TLS key on SIGHUP."""

import os
import pwd
import smtplib
import socket
import ssl
import subprocess
import tempfile
import shutil
import signal
import time
import unittest

import pbtest


def uids_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


def children_of(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def socket_inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out


def tcp_inodes(port):
    """Inodes of the TCP sockets on local port `port` (IPv4)."""
    out = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                out.add(fields[9])
    return out


def served_cert(port):
    """DER of the certificate the SMTP server shows after STARTTLS."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = pbtest.Client(port)
    try:
        c.ehlo()
        c.expect("STARTTLS", 220)
        s = ctx.wrap_socket(c.sock, server_hostname=pbtest.HOSTNAME)
        der = s.getpeercert(binary_form=True)
        s.close()
        return der
    finally:
        c.close()


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


@unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges")
class TestPrivilegeDrop(unittest.TestCase):
    def test_runs_as_configured_user_and_delivers(self):
        nobody = pwd.getpwnam("nobody")
        srv = pbtest.Server(users=["v@a.test"], server={"user": "nobody"}, start=False)
        with srv:
            # The unprivileged server must be able to reach its data.
            os.chmod(srv.tmp, 0o755)
            srv.start()
            # The parent stays root, holds no network socket; the server
            # (its child) has real, effective, saved and file-system uid
            # nobody: no way back to root.
            [child] = children_of(srv.proc.pid)
            self.assertEqual(uids_of(child), [nobody.pw_uid] * 4)
            self.assertEqual(uids_of(srv.proc.pid)[1], 0)
            listening = tcp_inodes(srv.port)
            self.assertTrue(listening & socket_inodes(child))
            self.assertFalse(listening & socket_inodes(srv.proc.pid))
            with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
                s.sendmail("x@c.test", ["v@a.test"], b"Subject: one\r\n\r\nhi\r\n")
            [(name, _)] = srv.maildir_messages("v@a.test")
            st = os.stat(os.path.join(srv.maildir("v@a.test"), "new", name))
            self.assertEqual(st.st_uid, nobody.pw_uid)
            # A user added by root while the server runs is deliverable.
            srv.add_user("w@a.test")
            with smtplib.SMTP("127.0.0.1", srv.port, timeout=10) as s:
                s.sendmail("x@c.test", ["w@a.test"], b"Subject: two\r\n\r\nhi\r\n")
            self.assertEqual(len(srv.maildir_messages("w@a.test")), 1)
            self.assertIn("running as user nobody", srv.log_text())
            # What root's CLI made is the server's: the user directory too.
            for p in (os.path.join(srv.data_dir, "postbox.db"), srv.maildir("w@a.test"),
                      os.path.join(srv.maildir("w@a.test"), "index.db")):
                self.assertEqual(os.stat(p).st_uid, nobody.pw_uid, p)
        # SIGTERM to the parent stopped both with status 0 (srv.stop).

    def test_root_without_user_is_refused(self):
        """Root without [server] user: one line naming the cause and the
        fix, exit 1, nothing bound."""
        srv = pbtest.Server(users=[], server={"user": ""}, start=False)
        with srv:
            p = subprocess.run([pbtest.postbox_bin(), "serve", "-c", srv.conf],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 1)
            err = p.stderr.decode()
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("refusing to run as root: [server] user is not set", err)
            self.assertIn("user = root", err)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
            # user = root, written out, keeps root.
            srv.server_keys["user"] = "root"
            srv.write_config()
            srv.start()
            self.assertEqual(uids_of(srv.proc.pid)[1], 0)
            self.assertIn("serving as root", srv.log_text())

    def test_sighup_reloads_a_root_only_key_as_nobody(self):
        """SIGHUP after the drop loads a new certificate whose key is 0600
        root: new connections see it."""
        srv = pbtest.Server(users=[], server={"user": "nobody"}, start=False)
        with srv:
            os.chmod(srv.tmp, 0o755)
            keydir = os.path.join(srv.tmp, "tls")
            os.mkdir(keydir, 0o700)
            srv.cert, srv.key = pbtest.make_cert(keydir, "live")
            srv.write_config()
            self.assertEqual(os.stat(srv.key).st_mode & 0o777, 0o600)
            srv.start()
            self.assertEqual(served_cert(srv.port), der_of(srv.cert))
            # Renewed in place, as certbot or an operator would.
            new_cert, new_key = pbtest.make_cert(keydir, "next", cn=pbtest.HOSTNAME)
            os.replace(new_key, srv.key)
            os.replace(new_cert, srv.cert)
            [child] = children_of(srv.proc.pid)
            # SIGHUP to the process the operator started (the parent), then
            # to the server itself (which asks the parent).
            for n, pid in enumerate((srv.proc.pid, child)):
                if n:
                    new_cert, new_key = pbtest.make_cert(keydir, "third")
                    os.replace(new_key, srv.key)
                    os.replace(new_cert, srv.cert)
                self.assertNotEqual(served_cert(srv.port), der_of(srv.cert))
                mark = len(srv.log_bytes())
                os.kill(pid, signal.SIGHUP)
                deadline = time.monotonic() + 20
                while b"reload: configuration and TLS reloaded" not in srv.log_bytes()[mark:]:
                    self.assertNotIn(b"keeping the old certificate", srv.log_bytes()[mark:])
                    self.assertLess(time.monotonic(), deadline, srv.log_tail())
                    time.sleep(0.05)
                self.assertEqual(served_cert(srv.port), der_of(srv.cert))
            self.assertEqual(uids_of(child)[1], pwd.getpwnam("nobody").pw_uid)


class TestInit(unittest.TestCase):
    def test_init_writes_user_postbox(self):
        """postbox init writes user = postbox, and says how to create that
        user when it does not exist."""
        d = tempfile.mkdtemp(prefix="pbtest-init-")
        try:
            conf = os.path.join(d, "etc", "postbox.conf")
            data = os.path.join(d, "data")
            p = subprocess.run([pbtest.postbox_bin(), "init", "a.test", "--data", data,
                                "-c", conf], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(conf) as f:
                lines = [l.strip() for l in f]
            self.assertIn("user = postbox", lines)
            try:
                pwd.getpwnam("postbox")
            except KeyError:
                self.assertIn(b"useradd --system --home-dir %s --shell /usr/sbin/nologin "
                              b"postbox" % os.path.realpath(data).encode(), p.stdout)
            # The key stays its owner's alone; the config is readable.
            self.assertEqual(os.stat(os.path.join(d, "etc", "key.pem")).st_mode & 0o777, 0o600)
            self.assertEqual(os.stat(conf).st_mode & 0o777, 0o644)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
