/* libFuzzer target: the SMTP command parser on any bytes. Beyond "no
 * crash, no read past len" (the line is an exact-size heap copy, so ASan
 * sees any overread), it checks what callers rely on: every view points
 * into the line, mailbox fields are NUL-terminated, within their limits
 * and free of control octets, and a parsed mailbox parses again to the
 * same thing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

static const char *line_start, *line_end;

static void check_view(struct str s)
{
	if (s.len == 0)
		return;
	CHECK(s.p >= line_start && s.p + s.len <= line_end);
}

static void check_field(const char *f, size_t size, size_t max)
{
	const char *nul = memchr(f, '\0', size);
	CHECK(nul != NULL);
	CHECK((size_t)(nul - f) <= max);
	for (const char *p = f; p < nul; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void check_mailbox(const struct smtp_mailbox *mb, bool ascii_only_domain_case)
{
	check_field(mb->local, sizeof mb->local, SMTP_LOCAL_MAX);
	check_field(mb->domain, sizeof mb->domain, SMTP_DOMAIN_MAX);
	if (!mb->literal && ascii_only_domain_case)
		for (const char *p = mb->domain; *p; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
	if (mb->literal)
		CHECK(mb->domain[0] == '[');
}

/* A mailbox written out by smtp_mailbox_format (quoted again when it is
 * not a Dot-string) must parse back to itself: the parser and the writer
 * of Return-Path, replies and logs agree. */
static void check_round_trip(const struct smtp_mailbox *mb)
{
	char text[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];
	struct smtp_mailbox again;
	const char *why = NULL;

	if (mb->domain[0] == '\0')
		return;
	CHECK(smtp_mailbox_format(mb, text, sizeof text) == 0);
	CHECK(smtp_parse_mailbox(text, strlen(text), &again, &why) == 0);
	CHECK(strcmp(again.local, mb->local) == 0);
	CHECK(strcmp(again.domain, mb->domain) == 0);
	CHECK(again.utf8 == mb->utf8 && again.literal == mb->literal);
}

static void check_cmd(const struct smtp_cmd *cmd)
{
	check_view(cmd->verb_text);
	check_view(cmd->arg);
	check_view(cmd->helo);
	check_view(cmd->auth_mech);
	check_view(cmd->auth_initial);
	CHECK(cmd->param_count <= SMTP_PARAMS_MAX);
	for (size_t i = 0; i < cmd->param_count; i++) {
		const struct smtp_param *p = &cmd->params[i];
		check_view(p->key);
		check_view(p->value);
		CHECK(p->key.len > 0);
		CHECK(p->has_value == (p->value.len > 0));
		CHECK(memchr(p->key.p, '=', p->key.len) == NULL);
		for (size_t j = 0; j < p->value.len; j++)
			CHECK(p->value.p[j] > ' ' && p->value.p[j] < 0x7f && p->value.p[j] != '=');
	}
	if (cmd->verb == SMTP_VERB_MAIL || cmd->verb == SMTP_VERB_RCPT) {
		check_mailbox(&cmd->mailbox, true);
		if (!cmd->null_path && !cmd->postmaster) {
			CHECK(cmd->mailbox.local[0] != '\0');
			CHECK(cmd->mailbox.domain[0] != '\0');
			check_round_trip(&cmd->mailbox);
		}
		CHECK(!(cmd->null_path && cmd->verb == SMTP_VERB_RCPT));
		CHECK(!(cmd->postmaster && cmd->verb == SMTP_VERB_MAIL));
	}
	if (cmd->verb == SMTP_VERB_EHLO || cmd->verb == SMTP_VERB_HELO)
		CHECK(cmd->helo.len > 0);
	if (cmd->verb == SMTP_VERB_BDAT)
		CHECK(cmd->bdat_size <= INT64_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	struct smtp_cmd cmd;
	struct smtp_mailbox mb;
	const char *why = NULL;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line_start = line;
	line_end = line + size;

	enum smtp_parse_result r = smtp_parse_command(line, size, &cmd, &why);
	if (r != SMTP_PARSE_OK)
		CHECK(why != NULL);
	if (r == SMTP_PARSE_OK || r == SMTP_PARSE_UNKNOWN_VERB)
		for (size_t i = 0; i < size; i++)
			CHECK((unsigned char)line[i] >= 0x20 || line[i] == '\t');
	if (r == SMTP_PARSE_OK)
		check_cmd(&cmd);
	check_view(cmd.verb_text);

	why = NULL;
	if (smtp_parse_mailbox(line, size, &mb, &why) == 0) {
		check_mailbox(&mb, true);
		CHECK(mb.local[0] != '\0' && mb.domain[0] != '\0');
		check_round_trip(&mb);
	} else {
		CHECK(why != NULL);
	}
	(void)smtp_xtext_valid((struct str){ line, size });
	free(line);
	return 0;
}
