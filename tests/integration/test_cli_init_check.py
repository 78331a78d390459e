"""postbox init and postbox check, run as a mail administrator would.

init writes a config, a key and a self-signed certificate into a temporary
directory; check accepts that config, and names FILE:LINE and the key for
every problem of a broken one.
"""
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

BIN = os.environ.get("POSTBOX_BIN", "postbox")


def run(args, env_extra=None, expect=None):
    env = dict(os.environ)
    env.pop("POSTBOX_CONF", None)
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([BIN] + args, capture_output=True, text=True, env=env, timeout=60)
    if expect is not None and p.returncode != expect:
        raise AssertionError("postbox %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                             % (" ".join(args), p.returncode, expect, p.stdout, p.stderr))
    return p


class InitCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pb-init-")
        self.conf = os.path.join(self.dir, "etc", "postbox.conf")
        self.data = os.path.join(self.dir, "var")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def init(self, *extra, expect=0):
        return run(["init", "Example.TEST", "--data", self.data] + list(extra),
                   env_extra={"POSTBOX_CONF": self.conf}, expect=expect)

    def test_init_writes_config_key_cert_and_records(self):
        p = self.init()
        out = p.stdout
        self.assertIn("example.test. IN MX 10 mail.example.test.", out)
        self.assertRegex(out, r"mail\.example\.test\. IN A <[^>]*public[^>]*address>")
        self.assertIn('example.test. IN TXT "v=spf1 mx -all"', out)
        self.assertTrue(os.path.isdir(self.data))

        key = os.path.join(self.dir, "etc", "key.pem")
        cert = os.path.join(self.dir, "etc", "cert.pem")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cert],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn("CN = mail.example.test", text)
        self.assertIn("DNS:mail.example.test", text)
        self.assertIn("TLS Web Server Authentication", text)
        # two years, give or take a day
        m = re.search(r"Not After : (\w+ +\d+ [\d:]+ (\d{4}))", text)
        self.assertIsNotNone(m)
        nb = re.search(r"Not Before: \w+ +\d+ [\d:]+ (\d{4})", text)
        self.assertEqual(int(m.group(2)) - int(nb.group(1)), 2)
        # the key belongs to the certificate
        pub_cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", cert],
                                  capture_output=True, text=True, check=True).stdout
        pub_key = subprocess.run(["openssl", "pkey", "-pubout", "-in", key],
                                 capture_output=True, text=True, check=True).stdout
        self.assertEqual(pub_cert, pub_key)

        with open(self.conf) as f:
            conf = f.read()
        for port in (25, 587, 465, 143, 993, 110, 995):
            self.assertRegex(conf, r"(?m)^\w+ = 0\.0\.0\.0:%d$" % port)
        self.assertIn("domains = example.test", conf)
        self.assertIn("hostname = mail.example.test", conf)

        p = run(["check", "-c", self.conf], expect=0)
        self.assertEqual(p.stdout.strip(), self.conf + ": ok")
        # $POSTBOX_CONF is the default for check too
        p = run(["check"], env_extra={"POSTBOX_CONF": self.conf}, expect=0)
        self.assertIn(": ok", p.stdout)

    def test_init_refuses_to_overwrite_without_force(self):
        self.init()
        with open(self.conf) as f:
            before = f.read()
        p = self.init(expect=1)
        self.assertIn("--force", p.stderr)
        with open(self.conf) as f:
            self.assertEqual(f.read(), before)
        self.init("--force", "--hostname", "mx.example.test")
        with open(self.conf) as f:
            self.assertIn("hostname = mx.example.test", f.read())
        run(["check", "-c", self.conf], expect=0)

    def test_init_with_config_option(self):
        other = os.path.join(self.dir, "other", "pb.conf")
        run(["init", "a.test", "--data", self.data, "--config", other], expect=0)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "other", "key.pem")))
        run(["check", "-c", other], expect=0)

    def test_init_bad_arguments(self):
        self.assertIn("not a domain", run(["init", "not_a domain"], expect=1).stderr)
        self.assertIn("no DOMAIN", run(["init"], expect=1).stderr)
        self.assertIn("usage", run(["init", "--help"], expect=0).stdout)
        self.assertFalse(os.path.exists(self.conf))

    def test_check_reports_every_problem_with_file_and_line(self):
        self.init()
        with open(self.conf) as f:
            lines = f.read().split("\n")
        # break three lines in place so their numbers are known
        def find(prefix):
            return next(i for i, l in enumerate(lines) if l.startswith(prefix))
        i_host = find("hostname =")
        i_smtp = find("smtp =")
        i_size = find("message_size =")
        lines[i_host] = "hostnme = mail.example.test"
        lines[i_smtp] = "smtp = 0.0.0.0:99999"
        lines[i_size] = "message_size = huge"
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))
        p = run(["check", "-c", self.conf], expect=1)
        err = p.stderr
        self.assertIn("%s:%d: [server] hostnme: unknown key" % (self.conf, i_host + 1), err)
        self.assertIn("%s:%d: [listen] smtp: '0.0.0.0:99999'" % (self.conf, i_smtp + 1), err)
        self.assertIn("%s:%d: [limits] message_size: 'huge'" % (self.conf, i_size + 1), err)
        self.assertIn("postbox check: %s: 3 errors" % self.conf, err)
        self.assertEqual(p.stdout, "")

    def test_check_mismatched_key(self):
        self.init()
        other = os.path.join(self.dir, "o")
        run(["init", "b.test", "--data", self.data, "-c", os.path.join(other, "p.conf")],
            expect=0)
        with open(self.conf) as f:
            conf = f.read()
        conf = conf.replace(os.path.join(self.dir, "etc", "key.pem"),
                            os.path.join(other, "key.pem"))
        with open(self.conf, "w") as f:
            f.write(conf)
        p = run(["check", "-c", self.conf], expect=1)
        self.assertIn("[tls] key: does not belong to the certificate", p.stderr)

    def test_check_missing_file(self):
        p = run(["check", "-c", os.path.join(self.dir, "nope.conf")], expect=1)
        self.assertIn("nope.conf: cannot open", p.stderr)

    def test_check_no_certificate_warns_but_passes(self):
        with open(os.path.join(self.dir, "plain.conf"), "w") as f:
            f.write("[server]\nhostname = mx.a.test\ndomains = a.test\n"
                    "data_dir = %s\n[listen]\nsmtp = 127.0.0.1:2525\n" % self.data)
        p = run(["check", "-c", os.path.join(self.dir, "plain.conf")], expect=0)
        self.assertIn("warning: not set: STARTTLS is off for smtp", p.stderr)


if __name__ == "__main__":
    unittest.main()
