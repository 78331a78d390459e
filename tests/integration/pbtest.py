"""Shared harness for the integration tests: a real `postbox serve` process
on loopback, its data directory, and a byte-exact SMTP client.

Python 3 standard library only. Every test file is one CTest test and the
files run in parallel, so everything here is private to the process: its own
temporary directories, its own free ports (bound to port 0 first).

    with pbtest.Server(users=["v@a.test"]) as srv:
        c = srv.client()            # greeting already read
        c.ehlo()
        self.assertEqual(c.cmd("NOOP").code, 250)
        srv.maildir_messages("v@a.test")

On exit the server gets SIGTERM and must exit 0 within 10 s, and its
stderr must show no AddressSanitizer/UBSan/LeakSanitizer report.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

HOSTNAME = "mx.a.test"
DOMAINS = ("a.test", "b.test")
PASSWORD = "pw-for-tests-0"
IO_TIMEOUT = 10.0          # seconds any single read may take
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

# A reply line: code, separator, text (RFC 5321 4.2).
_REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])([ -])(.*)$", re.S)
# RFC 3463 enhanced status code at the start of the text.
ENHANCED = re.compile(r"^[245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)")


def memory_env():
    """The environment for a server whose memory a test measures: under
    AddressSanitizer freed memory stays resident in its quarantine (256 MiB
    by default), so VmRSS would grow with the bytes that went through,
    not with what is held."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=4"}


def postbox_bin():
    path = os.environ.get("POSTBOX_BIN")
    if not path:
        raise RuntimeError("set POSTBOX_BIN to the postbox binary")
    return path


def free_ports(n):
    """n distinct ports that were free a moment ago on 127.0.0.1: the
    sockets are held together so the kernel cannot hand one out twice."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_cert_dir = None


def make_cert(directory, name="cert", cn=HOSTNAME):
    """Writes a new self-signed P-256 certificate for cn (openssl CLI) as
    DIRECTORY/NAME.pem and DIRECTORY/NAME-key.pem; returns (cert, key)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
         "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn,
         "-keyout", key, "-out", cert],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.chmod(key, 0o600)
    return cert, key


def cert_files():
    """(cert, key) of a self-signed P-256 certificate for mx.a.test, made
    once per process with the openssl CLI."""
    global _cert_dir
    if _cert_dir is None:
        d = tempfile.mkdtemp(prefix="pbtest-cert-")
        atexit.register(shutil.rmtree, d, True)
        make_cert(d, "cert")
        _cert_dir = d
    return os.path.join(_cert_dir, "cert.pem"), os.path.join(_cert_dir, "cert-key.pem")


def client_tls_context():
    """A TLS context that trusts only the test certificate."""
    cert, _ = cert_files()
    ctx = ssl.create_default_context(cafile=cert)
    return ctx


class Reply:
    """One complete SMTP reply: code, text lines (without code and
    separator) and the raw bytes as received."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def first(self):
        return "%d %s" % (self.code, self.lines[0] if self.lines else "")

    def enhanced(self):
        """The enhanced status code of the first line, or None."""
        m = ENHANCED.match(self.lines[0]) if self.lines else None
        return m.group(0).strip() if m else None

    def __repr__(self):
        return "Reply(%r)" % self.raw


class ProtocolError(AssertionError):
    pass


class Client:
    """A raw SMTP client: bytes in, complete replies out, with timeouts so
    that a test never hangs. `transcript` keeps everything for messages."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT, read_greeting=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.transcript = []
        self.eof = False
        self.tls = None
        if read_greeting:
            self.greeting = self.reply()

    # --- low level -------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append(("C", data))
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise
        except (ConnectionResetError, ssl.SSLError) as e:
            self.eof = True
            self.transcript.append(("S", b"<%s>" % str(e).encode()))
            return False
        if not chunk:
            self.eof = True
            return False
        self.transcript.append(("S", chunk))
        self.buf += chunk
        return True

    def reply(self, timeout=None):
        """Reads one complete (possibly multi-line) reply."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        raw = b""
        code = None
        while True:
            i = self.buf.find(b"\r\n")
            if i < 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProtocolError("no complete reply within %.1fs; have %r; transcript %s"
                                        % (timeout or self.timeout, self.buf, self.dump()))
                try:
                    if not self._fill(left):
                        raise ProtocolError("connection closed while reading a reply; have %r; "
                                            "transcript %s" % (self.buf, self.dump()))
                except socket.timeout:
                    raise ProtocolError("no complete reply within %.1fs; have %r; transcript %s"
                                        % (timeout or self.timeout, self.buf, self.dump()))
                continue
            line, self.buf = self.buf[:i], self.buf[i + 2:]
            raw += line + b"\r\n"
            m = _REPLY_LINE.match(line)
            if m is None and re.match(rb"^[2-5][0-9][0-9]$", line):
                m = re.match(rb"^([2-5][0-9][0-9])()()$", line)
            if m is None:
                raise ProtocolError("malformed reply line %r; transcript %s" % (line, self.dump()))
            c = int(m.group(1))
            if code is not None and c != code:
                raise ProtocolError("reply code changed inside a multi-line reply: %r" % raw)
            code = c
            lines.append(m.group(3).decode("utf-8", "replace"))
            if m.group(2) != b"-":
                return Reply(code, lines, raw)

    def replies(self, n, timeout=None):
        return [self.reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        """Sends one command line (CRLF added) and reads its reply."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def expect(self, line, code, enhanced=None):
        r = self.cmd(line)
        if r.code != code or (enhanced is not None and r.enhanced() != enhanced):
            raise ProtocolError("%r: expected %s %s, got %r" % (line, code, enhanced or "", r.raw))
        return r

    def line(self, timeout=None):
        """Reads one line of any protocol (IMAP, POP3); returns it without
        its CRLF. ProtocolError when none comes or the server closes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self._fill(left):
                    raise ProtocolError("no line; have %r; transcript %s"
                                        % (self.buf, self.dump()))
            except socket.timeout:
                raise ProtocolError("no line within %.1fs; have %r; transcript %s"
                                    % (timeout or self.timeout, self.buf, self.dump()))
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def flood(self, data, until, limit=64 << 20, stall=1.0):
        """Sends data over and over without reading anything, until the
        server stops taking it (a send blocks for `stall` seconds), until()
        is true (checked every MiB), or `limit` bytes went. Returns
        (bytes sent, True when the server stopped taking them)."""
        sent, mark = 0, 0
        self.sock.settimeout(stall)
        try:
            while sent < limit:
                try:
                    n = self.sock.send(data)
                except socket.timeout:
                    return sent, True
                sent += n
                if sent - mark >= 1 << 20:
                    mark = sent
                    if until():
                        break
        finally:
            self.sock.settimeout(self.timeout)
        return sent, False

    def no_more(self, wait=1.0):
        """Asserts that the server sends nothing more for `wait` seconds
        (it did not answer a command we did not send)."""
        if self.buf:
            raise ProtocolError("unexpected extra bytes from server: %r" % self.buf)
        try:
            if self._fill(wait):
                raise ProtocolError("unexpected extra bytes from server: %r" % self.buf)
        except socket.timeout:
            pass

    def wait_closed(self, timeout=None):
        """Reads until the server closes; returns whatever it still sent."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("server did not close the connection; transcript %s"
                                    % self.dump())
            try:
                self._fill(left)
            except socket.timeout:
                continue
        rest, self.buf = self.buf, b""
        return rest

    # --- SMTP conveniences ----------------------------------------------
    def ehlo(self, name="client.test"):
        r = self.cmd("EHLO " + name)
        if r.code != 250:
            raise ProtocolError("EHLO refused: %r" % r.raw)
        return r

    def starttls(self, server_hostname=HOSTNAME):
        r = self.cmd("STARTTLS")
        if r.code != 220:
            raise ProtocolError("STARTTLS refused: %r" % r.raw)
        self.handshake(server_hostname)
        return r

    def handshake(self, server_hostname=HOSTNAME):
        if self.buf:
            raise ProtocolError("plaintext bytes after the 220 to STARTTLS: %r" % self.buf)
        self.sock.settimeout(self.timeout)
        self.sock = client_tls_context().wrap_socket(self.sock, server_hostname=server_hostname)
        self.tls = self.sock

    def send_message(self, sender, rcpts, data, ehlo=True):
        """A whole transaction with DATA, one command at a time. data is
        the message with CRLF line ends, not dot-stuffed and without the
        final dot; returns the reply to the final dot."""
        if ehlo:
            self.ehlo()
        self.expect("MAIL FROM:<%s>" % sender, 250)
        for r in rcpts:
            self.expect("RCPT TO:<%s>" % r, 250)
        self.expect("DATA", 354)
        self.send(dot_stuff(data) + b".\r\n")
        return self.reply()

    def dump(self):
        out = []
        for who, data in self.transcript[-40:]:
            out.append("%s: %r" % (who, data))
        return "\n  " + "\n  ".join(out)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def dot_stuff(data):
    """RFC 5321 4.5.2 transparency, for data with CRLF line ends; adds a
    final CRLF when missing."""
    if isinstance(data, str):
        data = data.encode()
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    lines = data.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def to_lf(data):
    """What a message sent with CRLF looks like in the Maildir file."""
    if isinstance(data, str):
        data = data.encode()
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data.replace(b"\r\n", b"\n")


def split_trace(content):
    """Splits a delivered file into (return_path_line, received_unfolded,
    rest). Raises AssertionError when the first two fields are not
    Return-Path: and Received:."""
    lines = content.split(b"\n")
    if not lines[0].startswith(b"Return-Path: "):
        raise AssertionError("first line is not Return-Path: %r" % lines[0])
    if len(lines) < 2 or not lines[1].startswith(b"Received: "):
        raise AssertionError("second field is not Received: %r" % content[:300])
    i = 2
    received = [lines[1]]
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        received.append(lines[i])
        i += 1
    unfolded = b" ".join(l.strip() for l in received).decode("utf-8", "replace")
    rest = b"\n".join(lines[i:])
    return lines[0].decode("utf-8", "replace"), unfolded, rest


_MAILDIR_NAME = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)")


def _delivery_order(name):
    m = _MAILDIR_NAME.match(name)
    if m is None:
        return (float("inf"), 0, 0, name)
    return (int(m.group(1)), int(m.group(2)), int(m.group(4)), name)


class Server:
    """A `postbox serve` on a fresh data directory.

    users: addresses to create; aliases: {alias: [targets]} (a catch-all
    is "@a.test"); limits: [limits] keys to set/override; tls: write the
    [tls] section; data_dir: use this directory for DATA (e.g. a tmpfs);
    start: False to only prepare (call start() later); domains: the local
    domains. Change .domains/.cert/.key/.limits and call write_config()
    before a SIGHUP to test reloads."""

    def __init__(self, users=("v@a.test",), aliases=None, limits=None, tls=True,
                 data_dir=None, start=True, extra="", domains=DOMAINS, services=(),
                 server=None, listen=None, env=None):
        self.users = list(users)
        # Further [listen] services ("pop3", "imaps", ...): each gets a
        # free port, in self.ports. server: more [server] keys.
        self.services = list(services)
        self.ports = {}
        # listen: {service: ["[::]:{port}", ...]}: more addresses for a
        # service, "{port}" being its port ("smtp" included).
        self.listen = dict(listen or {})
        # env: more environment for the serve process (memory_env()).
        self.env = dict(env or {})
        self.server_keys = dict(server or {})
        # serve refuses root without [server] user: the tests run as root
        # (CI) and keep it unless they ask for a user (server={"user": ...}).
        if os.geteuid() == 0:
            self.server_keys.setdefault("user", "root")
        self.domains = list(domains)
        self.cert = self.key = None   # None: the shared test certificate
        self.aliases = dict(aliases or {})
        self.limits = {
            "message_size": 1000000,
            "connections_per_ip": 5,
            "timeout_command": 300,
        }
        self.limits.update(limits or {})
        self.tls = tls
        self.extra = extra
        self.want_start = start
        self.tmp = tempfile.mkdtemp(prefix="pbtest-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.conf = os.path.join(self.tmp, "postbox.conf")
        self.stderr_path = os.path.join(self.tmp, "serve.stderr")
        self.proc = None
        self.port = None
        self.exit_status = None
        self._stderr = None

    # --- setup -----------------------------------------------------------
    def write_config(self, **limits):
        """(Re)writes the config file; keyword args override [limits]."""
        self.limits.update(limits)
        lines = [
            "[server]",
            "hostname = " + HOSTNAME,
            "data_dir = " + self.data_dir,
            "domains = " + " ".join(self.domains),
        ] + ["%s = %s" % kv for kv in self.server_keys.items()] + [
            "",
            "[listen]",
            "smtp = 127.0.0.1:%d" % self.port,
        ] + ["%s = 127.0.0.1:%d" % (svc, self.ports[svc]) for svc in self.services] + [
            "%s = %s" % (svc, a.format(port=self.port if svc == "smtp" else self.ports[svc]))
            for svc, addrs in self.listen.items() for a in addrs
        ] + [
            "",
        ]
        if self.tls:
            cert, key = cert_files()
            lines += ["[tls]", "cert = " + (self.cert or cert), "key = " + (self.key or key), ""]
        # Nothing but loopback is ever asked: without a test's own [dns],
        # lookups go to a port where nothing answers (a temporary failure).
        if "[dns]" not in self.extra:
            lines += ["[dns]", "servers = 127.0.0.1:9", ""]
        lines.append("[limits]")
        for k, v in self.limits.items():
            lines.append("%s = %s" % (k, v))
        lines.append("")
        text = "\n".join(lines) + self.extra
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf)

    def cli(self, *args, input=None, check=True):
        """Runs `postbox ARGS -c CONF`; returns the CompletedProcess."""
        p = subprocess.run([postbox_bin()] + list(args) + ["-c", self.conf],
                           input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("postbox %s failed (%d): %s%s"
                                 % (" ".join(args), p.returncode,
                                    p.stdout.decode(errors="replace"),
                                    p.stderr.decode(errors="replace")))
        self._check_sanitizers(p.stderr.decode(errors="replace"), "postbox " + " ".join(args))
        return p

    def add_user(self, address, password=PASSWORD):
        self.cli("user", "add", address, "--password-stdin",
                 input=(password + "\n").encode())

    def add_alias(self, alias, *targets):
        self.cli("alias", "add", alias, *targets)

    def __enter__(self):
        try:
            ports = free_ports(1 + len(self.services))
            self.port = ports[0]
            for svc, port in zip(self.services, ports[1:]):
                self.ports[svc] = port
            self.write_config()
            os.makedirs(self.data_dir, exist_ok=True)
            for u in self.users:
                self.add_user(u)
            for a, targets in self.aliases.items():
                if isinstance(targets, str):
                    targets = [targets]
                self.add_alias(a, *targets)
            if self.want_start:
                self.start()
        except BaseException:
            self._kill()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def start(self):
        """Starts serve and waits until the port accepts connections. A
        port taken by another process in the meantime: retried on a new
        port."""
        for attempt in range(3):
            if attempt:
                self.port = next(p for p in free_ports(len(self.ports) + 1)
                                 if p not in self.ports.values())
                self.write_config()
            self._stderr = open(self.stderr_path, "ab")
            self._log_mark = self._stderr.tell()
            self.proc = subprocess.Popen([postbox_bin(), "serve", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=self._stderr,
                                         stderr=self._stderr,
                                         env=dict(os.environ, **self.env))
            if self._wait_port():
                return
            if self.proc.poll() is not None and "in use" in self.log_text():
                self._stderr.close()
                continue
            break
        self._kill()
        raise AssertionError("postbox serve did not come up on port %d; log:\n%s"
                             % (self.port, self.log_text()))

    def _wait_port(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            # Ours, not another test's server that took one of our ports
            # between free_ports() and the bind: serve says "ready" once
            # every listener is bound.
            if b" ready (config " not in self.log_bytes()[self._log_mark:]:
                time.sleep(0.05)
                continue
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    # Read the greeting so the probe leaves cleanly.
                    s.settimeout(5)
                    try:
                        s.recv(512)
                        s.sendall(b"QUIT\r\n")
                        s.recv(512)
                    except OSError:
                        pass
                return True
            except OSError:
                time.sleep(0.05)
        return False

    # --- use -------------------------------------------------------------
    def client(self, **kw):
        return Client(self.port, **kw)

    def log_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_bytes(self):
        with open(self.stderr_path, "rb") as f:
            return f.read()

    def maildir(self, address):
        local, domain = address.rsplit("@", 1)
        return os.path.join(self.data_dir, "mail", domain.lower(), local.lower())

    def maildir_messages(self, address, sub="new"):
        """[(filename, bytes)] in the address's Maildir sub-directory
        (new/ by default), oldest first (by the time in the Maildir name,
        "SECONDS.M<usec>P<pid>Q<n>...", so [-1] is the latest delivery)."""
        d = os.path.join(self.maildir(address), sub)
        out = []
        try:
            names = sorted(os.listdir(d), key=_delivery_order)
        except FileNotFoundError:
            return []
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out.append((n, f.read()))
        return out

    def all_delivered(self):
        """{maildir_path: count} of every file in every new/ and tmp/ below
        DATA/mail, to prove nothing went anywhere unexpected."""
        res = {}
        root = os.path.join(self.data_dir, "mail")
        for dirpath, dirnames, filenames in os.walk(root):
            if os.path.basename(dirpath) in ("new", "tmp", "cur") and filenames:
                res[os.path.relpath(dirpath, root)] = len(filenames)
        return res

    # --- the process, seen from outside --------------------------------
    @property
    def pid(self):
        return self.proc.pid

    def status_kib(self, field="VmRSS"):
        """A size of /proc/PID/status in KiB: VmRSS (resident now), VmHWM
        (its peak)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError("no %s in /proc/%d/status" % (field, self.proc.pid))

    def rss_kib(self):
        return self.status_kib("VmRSS")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then asserts exit status 0 within timeout and a clean
        sanitizer log. Returns the exit status."""
        if self.proc is None or self.exit_status is not None:
            return self.exit_status
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self.exit_status = "timeout"
            raise AssertionError("postbox serve did not exit within %.0fs of SIGTERM; log:\n%s"
                                 % (timeout, self.log_tail()))
        finally:
            if self._stderr:
                self._stderr.close()
        self._check_sanitizers(self.log_text(), "postbox serve")
        if self.exit_status != 0:
            raise AssertionError("postbox serve exited with %r after SIGTERM; log:\n%s"
                                 % (self.exit_status, self.log_tail()))
        return self.exit_status

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    @staticmethod
    def _check_sanitizers(text, what):
        for mark in SANITIZER_MARKS:
            if mark in text:
                i = text.find(mark)
                raise AssertionError("%s: sanitizer report (%s):\n%s"
                                     % (what, mark, text[max(0, i - 2000):i + 6000]))

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        finally:
            self._kill()
            if os.environ.get("PBTEST_KEEP"):
                print("pbtest: kept", self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        return False


# --- DNS for delivery tests --------------------------------------------------

def free_udp_tcp_port():
    """A port free a moment ago on 127.0.0.1 for both UDP and TCP (a DNS
    server takes both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


def dns_query(port, name, qtype, timeout=3.0):
    """One DNS query over UDP to 127.0.0.1:port; returns (rcode, number of
    answer records). qtype: 1 A, 15 MX, 28 AAAA. socket.timeout when no
    answer comes."""
    import random
    import struct
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            r = s.recv(65535)
            if len(r) >= 12 and struct.unpack(">H", r[:2])[0] == qid:
                flags, _, an = struct.unpack(">HHH", r[2:8])
                return flags & 15, an


class SilentDNS:
    """A UDP socket on 127.0.0.1 that takes DNS queries and never answers
    (a DNS server that is down without saying so): resolvers pointed at it
    time out, which delivery must treat as a temporary failure.

        with pbtest.SilentDNS() as silent:
            config "[dns] servers = " + silent.server
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = "127.0.0.1:%d" % self.port

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class FailingDNS(SilentDNS):
    """A DNS server on 127.0.0.1 that answers every query with one error
    rcode and nothing else: 2 SERVFAIL (default; a temporary failure for
    delivery), 5 REFUSED, 3 NXDOMAIN. It runs in a thread of the test;
    .queries counts what it answered.

        with pbtest.FailingDNS() as servfail:
            config "[dns] servers = " + servfail.server
    """

    def __init__(self, rcode=2):
        import threading
        super().__init__()
        self.rcode = rcode
        self.sock.settimeout(0.1)
        self.queries = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                q, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            self.queries += 1
            # Same id and question; QR, RD, RA and the rcode; no records.
            flags = 0x8180 | self.rcode
            head = q[:2] + bytes([flags >> 8, flags & 0xFF]) + q[4:6] + bytes(6)
            try:
                self.sock.sendto(head + q[12:], peer)
            except OSError:
                pass

    def close(self):
        self._stop = True
        self._thread.join(5)
        super().close()


class DNS:
    """A dnsmasq (from dnsmasq-base) on 127.0.0.1 and a free port, serving
    only the records a test gives it; for [dns] servers of the postbox
    instances under test (and for tests/tools/dnsq). It reads no
    /etc/resolv.conf, no /etc/hosts, no config file, forwards nothing
    anywhere but to the helper's own SilentDNS, listens on 127.0.0.1 only,
    and works as root (dnsmasq drops to "nobody") and as any other user.

        with pbtest.DNS(mx={"b.test": [(10, "mx.b.test")]},
                        hosts={"mx.b.test": ["127.0.0.9"]}) as dns:
            extra = "[dns]\\nservers = %s\\n" % dns.server
            ...

    mx:      {domain: [(preference, host), ...]}  (--mx-host)
    hosts:   {name: [address, ...]}, IPv4 and IPv6 mixed  (--host-record);
             the A and AAAA records of MX hosts and of domains without MX
             (implicit MX). Give servers 127.0.0.x addresses; an AAAA of a
             host that nothing connects to can be a 2001:db8:: address.
    cnames:  {alias: target}  (--cname); the target must be a name given
             in hosts or mx (dnsmasq answers CNAMEs only into its own data)
    null_mx: [domain, ...]: a null MX (RFC 7505: preference 0, target ".")
             (--dns-rr with the raw RDATA 0000 00: --mx-host cannot say ".")
    raw:     [(name, rrtype, hexdata), ...]: any other record (--dns-rr)
    silent:  [domain, ...]: queries under these are forwarded to a server
             that never answers: the resolver times out (temporary failure)
    zones:   the domains dnsmasq is authoritative for (--local): a name
             under them that has no record is NXDOMAIN (a permanent
             failure); a name outside both zones and silent gets REFUSED
             (a temporary failure). Default ("test",).

    Attributes: port, server ("127.0.0.1:PORT"), log_text(). On exit
    dnsmasq gets SIGTERM (SIGKILL after 5 s) and its files are removed.
    """

    def __init__(self, mx=None, hosts=None, cnames=None, null_mx=(), raw=(),
                 silent=(), zones=("test",)):
        self.mx = dict(mx or {})
        self.hosts = dict(hosts or {})
        self.cnames = dict(cnames or {})
        self.null_mx = list(null_mx)
        self.raw = list(raw)
        self.silent = list(silent)
        self.zones = list(zones)
        self.proc = None
        self.port = None
        self.server = None
        self._silent = None
        self.tmp = tempfile.mkdtemp(prefix="pbtest-dns-")
        self.log_path = os.path.join(self.tmp, "dnsmasq.log")

    def _args(self):
        a = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--pid-file=", "--listen-address=127.0.0.1", "--bind-interfaces",
             "--port=%d" % self.port, "--log-facility=-", "--log-queries",
             "--cache-size=0"]
        a += ["--local=/%s/" % z for z in self.zones]
        for domain, records in self.mx.items():
            a += ["--mx-host=%s,%s,%d" % (domain, host, pref) for pref, host in records]
        for name, addrs in self.hosts.items():
            v4 = [x for x in addrs if ":" not in x]
            v6 = [x for x in addrs if ":" in x]
            # One --host-record takes at most one address of each family.
            for i in range(max(len(v4), len(v6))):
                parts = [name] + ([v4[i]] if i < len(v4) else []) + ([v6[i]] if i < len(v6) else [])
                a.append("--host-record=" + ",".join(parts))
        a += ["--cname=%s,%s" % kv for kv in self.cnames.items()]
        a += ["--dns-rr=%s,15,000000" % d for d in self.null_mx]
        a += ["--dns-rr=%s,%d,%s" % r for r in self.raw]
        if self.silent:
            a += ["--server=/%s/127.0.0.1#%d" % (d, self._silent.port) for d in self.silent]
        return a

    def __enter__(self):
        try:
            if self.silent:
                self._silent = SilentDNS()
            for _ in range(3):
                self.port = free_udp_tcp_port()
                self.server = "127.0.0.1:%d" % self.port
                if self._start():
                    return self
            raise AssertionError("dnsmasq did not start; log:\n%s" % self.log_text())
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False      # e.g. the port was taken meanwhile: a new one
            try:
                # Any answer means it is up (the name need not exist).
                dns_query(self.port, "pbtest-probe." + (self.zones[0] if self.zones else "test"),
                          1, timeout=0.2)
                return True
            except (socket.timeout, ConnectionRefusedError):
                continue
        self._kill()
        return False

    def query(self, name, qtype):
        """(rcode, answer count) of a query of this dnsmasq (dns_query)."""
        return dns_query(self.port, name, qtype)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __exit__(self, *exc):
        try:
            self._kill()
        finally:
            if self._silent is not None:
                self._silent.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False


def dnsq_bin():
    path = os.environ.get("DNSQ_BIN")
    if not path:
        raise RuntimeError("set DNSQ_BIN to build-test/tests/dnsq")
    return path
