/* RFC 3464 delivery status notifications, built from an envelope (pure;
 * bounce.h). */
#include "queue/bounce.h"

#include <stdio.h>
#include <string.h>

#include "lib/utf8.h"
#include "msg/date.h"

bool bounce_wanted(const struct queue_rcpt *r, enum bounce_kind kind)
{
	if (r->notify == 0)
		return true;
	return (r->notify & (kind == BOUNCE_FAILED ? QUEUE_NOTIFY_FAILURE : QUEUE_NOTIFY_DELAY)) != 0;
}

/* "5.1.1" at the start of text: class.subject.detail (RFC 3463 2). */
static size_t enhanced_len(const char *p)
{
	size_t n = 0;
	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return 0;
	n = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (p[n + d] >= '0' && p[n + d] <= '9' && d < 3)
			d++;
		if (d == 0)
			return 0;
		n += d;
		if (part == 0) {
			if (p[n] != '.')
				return 0;
			n++;
		}
	}
	return p[n] == ' ' || p[n] == '\0' || p[n] == '\t' ? n : 0;
}

void bounce_status(const struct queue_rcpt *r, enum bounce_kind kind, char out[16])
{
	const char *reply = r->reply;
	char cls = reply[0];
	bool coded = (cls == '2' || cls == '4' || cls == '5') && reply[1] >= '0' &&
		     reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9' &&
		     (reply[3] == ' ' || reply[3] == '-');
	size_t n = coded ? enhanced_len(reply + 4) : 0;
	if (n > 0 && reply[4] == cls) {
		memcpy(out, reply + 4, n);
		out[n] = '\0';
	} else if (coded && cls == '5') {
		memcpy(out, "5.0.0", 6);
	} else if (kind == BOUNCE_FAILED && r->attempts > 0) {
		/* Failed for lack of time (RFC 3463 3.5: 4.4.7). */
		memcpy(out, "4.4.7", 6);
	} else {
		memcpy(out, coded ? "4.0.0" : "4.4.1", 6);
	}
	if (kind == BOUNCE_FAILED && out[0] == '2')
		out[0] = '5';
}

/* Text for a header field: controls (a multi-line reply's line ends
 * among them) become spaces, 8-bit octets '?' (the report's fields are
 * ASCII, RFC 3464 2.1.2). */
static int put_clean(struct buf *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char c = *p < 0x20 || *p == 0x7f ? ' ' : *p >= 0x80 ? '?' : (char)*p;
		if (buf_append_char(out, c) < 0)
			return -1;
	}
	return 0;
}

/* "Name: value", folded at spaces before 78 columns (RFC 5322 2.2.3),
 * never cutting a word (a longer word makes a longer line, below 998). */
static int put_field(struct buf *out, const char *name, const char *prefix, const char *value)
{
	struct buf v;
	int r = -1;
	buf_init(&v, 4096);
	if (buf_append_str(&v, prefix) == 0 && put_clean(&v, value) == 0) {
		size_t col = strlen(name) + 2, i = 0;
		r = buf_printf(out, "%s: ", name);
		while (r == 0 && i < v.len) {
			size_t w = i;
			while (w < v.len && v.data[w] == ' ')
				w++;
			size_t e = w;
			while (e < v.len && v.data[e] != ' ')
				e++;
			if (col + (e - i) > 78 && col > strlen(name) + 2 && w > i) {
				r = buf_append_str(out, "\n ");
				col = 1;
				i = w;
			}
			if (r == 0)
				r = buf_append(out, v.data + i, e - i);
			col += e - i;
			i = e;
		}
		if (r == 0)
			r = buf_append_char(out, '\n');
	}
	buf_free(&v);
	return r;
}

static int put_date(struct buf *out, const char *name, int64_t t)
{
	char d[MSG_DATE_MAX];
	msg_date_format((time_t)t, d, sizeof d);
	return buf_printf(out, "%s: %s\n", name, d);
}

bool bounce_has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0x80)
			return true;
	}
	return false;
}

static int put_headers(const struct bounce_in *in, const char *boundary, bool eight,
		       struct buf *out)
{
	bool failed = in->kind == BOUNCE_FAILED;
	if (buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\nTo: <",
		       in->reporting_mta) < 0 ||
	    put_clean(out, in->env->sender) < 0 || buf_append_str(out, ">\n") < 0 ||
	    buf_printf(out, "Subject: %s\n", failed ? "Undelivered Mail Returned to Sender"
						     : "Delayed Mail (still being retried)") < 0 ||
	    put_date(out, "Date", in->now) < 0 ||
	    buf_printf(out, "Message-ID: <%s@%s>\n", in->bounce_id, in->reporting_mta) < 0 ||
	    /* RFC 3834 5: no automatic answer to this one. */
	    buf_append_str(out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n") < 0 ||
	    buf_printf(out, "Content-Type: multipart/report; report-type=delivery-status;\n"
			    "\tboundary=\"%s\"\n", boundary) < 0 ||
	    (eight && buf_append_str(out, "Content-Transfer-Encoding: 8bit\n") < 0) ||
	    buf_printf(out, "\nThis is a MIME-encapsulated message.\n\n--%s\n", boundary) < 0)
		return -1;
	return 0;
}

/* Part 1: for people (RFC 3464 2: "a human-readable explanation"). */
static int put_text(const struct bounce_in *in, const char *boundary, struct buf *out)
{
	bool failed = in->kind == BOUNCE_FAILED;
	char until[MSG_DATE_MAX];
	msg_date_format((time_t)in->retry_until, until, sizeof until);
	if (buf_printf(out, "Content-Description: Notification\n"
			    "Content-Type: text/plain; charset=us-ascii\n\n"
			    "This is the mail system at host %s.\n\n", in->reporting_mta) < 0)
		return -1;
	if (failed && buf_append_str(out, "I'm sorry to have to inform you that your message "
					  "could not\nbe delivered to one or more recipients. "
					  "It is attached below.\n\n") < 0)
		return -1;
	if (!failed && buf_printf(out, "Your message could not be delivered yet to the "
				       "recipients below.\nThe mail system will keep trying "
				       "until %s;\nyou need not send it again.\n\n", until) < 0)
		return -1;
	for (size_t k = 0; k < in->rcpt_count; k++) {
		const struct queue_rcpt *r = &in->env->rcpts[in->rcpts[k]];
		if (buf_append_char(out, '<') < 0 || put_clean(out, r->addr) < 0 ||
		    buf_append_str(out, ">: ") < 0)
			return -1;
		if (r->mta[0] != '\0' && (buf_append_str(out, "host ") < 0 ||
					  put_clean(out, r->mta) < 0 ||
					  buf_append_str(out, " said: ") < 0))
			return -1;
		if (put_clean(out, r->reply[0] != '\0' ? r->reply : "no answer yet") < 0 ||
		    buf_append_str(out, "\n\n") < 0)
			return -1;
	}
	return buf_printf(out, "--%s\n", boundary) < 0 ? -1 : 0;
}

/* "Final-Recipient: rfc822; a@b", or for an address in UTF-8 (SMTPUTF8)
 * RFC 6533 3's utf-8 type with each non-ASCII character as \x{HEX}, so
 * that the field stays ASCII in a message/delivery-status part. */
static int put_final_recipient(struct buf *out, const char *addr)
{
	const unsigned char *p = (const unsigned char *)addr;
	size_t n = strlen(addr);
	if (!bounce_has_8bit(addr, n))
		return put_field(out, "Final-Recipient", "rfc822; ", addr);
	if (buf_append_str(out, "Final-Recipient: utf-8; ") < 0)
		return -1;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_seq(p + i, n - i, &cp);
		int r;
		if (len == 0) {
			cp = 0xFFFD;   /* not UTF-8: the replacement character */
			len = 1;
		}
		if (cp < 0x80 && cp > 0x20 && cp != '\\' && cp != '+' && cp != '=')
			r = buf_append_char(out, (char)cp);
		else
			r = buf_printf(out, "\\x{%X}", (unsigned)cp);
		if (r < 0)
			return -1;
		i += len;
	}
	return buf_append_char(out, '\n');
}

/* One recipient's fields (RFC 3464 2.3). */
static int put_rcpt_status(const struct bounce_in *in, const struct queue_rcpt *r,
			   struct buf *out)
{
	char status[16];
	bool failed = in->kind == BOUNCE_FAILED;
	bounce_status(r, in->kind, status);
	if (buf_append_char(out, '\n') < 0 ||
	    (r->orcpt[0] != '\0' && put_field(out, "Original-Recipient", "", r->orcpt) < 0) ||
	    put_final_recipient(out, r->addr) < 0 ||
	    buf_printf(out, "Action: %s\nStatus: %s\n", failed ? "failed" : "delayed",
		       status) < 0 ||
	    (r->mta[0] != '\0' && put_field(out, "Remote-MTA", "dns; ", r->mta) < 0) ||
	    (r->reply[0] != '\0' && put_field(out, "Diagnostic-Code", "smtp; ", r->reply) < 0) ||
	    (r->attempts > 0 && put_date(out, "Last-Attempt-Date", in->now) < 0) ||
	    (!failed && put_date(out, "Will-Retry-Until", in->retry_until) < 0))
		return -1;
	return 0;
}

/* Part 2: message/delivery-status (RFC 3464 2.2 and 2.3). */
static int put_status(const struct bounce_in *in, const char *boundary, struct buf *out)
{
	const struct queue_env *env = in->env;
	if (buf_append_str(out, "Content-Description: Delivery report\n"
				"Content-Type: message/delivery-status\n\n") < 0 ||
	    buf_printf(out, "Reporting-MTA: dns; %s\n", in->reporting_mta) < 0 ||
	    (env->envid[0] != '\0' &&
	     put_field(out, "Original-Envelope-Id", "", env->envid) < 0) ||
	    put_date(out, "Arrival-Date", env->arrival) < 0)
		return -1;
	for (size_t k = 0; k < in->rcpt_count; k++) {
		if (put_rcpt_status(in, &env->rcpts[in->rcpts[k]], out) < 0)
			return -1;
	}
	return buf_printf(out, "\n--%s\n", boundary) < 0 ? -1 : 0;
}

/* Part 3: what was sent (RFC 3462: text/rfc822-headers; or the whole of
 * it as message/rfc822 when RET=FULL asked for it). */
static int put_original(const struct bounce_in *in, const char *boundary, bool eight,
			struct buf *out)
{
	const char *type = in->orig_full ? "message/rfc822" : "text/rfc822-headers";
	size_t n = in->orig_len;
	if (buf_printf(out, "Content-Description: %s\nContent-Type: %s\n",
		       in->orig_full ? "Undelivered Message" : "Undelivered Message Headers",
		       type) < 0 ||
	    (eight && buf_append_str(out, "Content-Transfer-Encoding: 8bit\n") < 0) ||
	    buf_append_char(out, '\n') < 0 || buf_append(out, in->orig, n) < 0)
		return -1;
	if (n > 0 && in->orig[n - 1] != '\n' && buf_append_char(out, '\n') < 0)
		return -1;
	return buf_printf(out, "\n--%s--\n", boundary) < 0 ? -1 : 0;
}

int bounce_build(const struct bounce_in *in, struct buf *out, const char **error_r)
{
	char boundary[QUEUE_ID_MAX + 300];
	if (in->env->sender[0] == '\0') {
		*error_r = "no notification for the null sender";
		return -1;
	}
	if (in->rcpt_count == 0) {
		*error_r = "no recipient to report";
		return -1;
	}
	/* Our id makes it unique: the original cannot contain it by chance. */
	snprintf(boundary, sizeof boundary, "%s/%.250s", in->bounce_id, in->reporting_mta);
	bool eight = bounce_has_8bit(in->orig, in->orig_len);
	size_t start = out->len;
	if (put_headers(in, boundary, eight, out) < 0 || put_text(in, boundary, out) < 0 ||
	    put_status(in, boundary, out) < 0 || put_original(in, boundary, eight, out) < 0) {
		buf_truncate(out, start);
		*error_r = "notification too big";
		return -1;
	}
	return 0;
}
