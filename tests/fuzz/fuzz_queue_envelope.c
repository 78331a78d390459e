/* libFuzzer target: the queue envelope parser (queue/queue_env.h).
 *
 * Any input either is refused with an error and an empty envelope, or
 * parses; a parsed envelope formats back to text that parses to the
 * same text again (the format is a fixed point after one round), its
 * valid length never exceeds the input, and an update record appended
 * for each recipient parses and applies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_env.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env env, again;
	const char *err = NULL;
	size_t valid, line;
	if (queue_env_parse((const char *)data, size, &env, &valid, &line, &err) < 0) {
		CHECK(err != NULL);
		CHECK(env.rcpts == NULL && env.rcpt_count == 0 && env.sender == NULL);
		return 0;
	}
	CHECK(valid <= size);
	CHECK(env.rcpt_count > 0);
	struct buf a, b;
	buf_init(&a, QUEUE_ENV_FILE_MAX);
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	CHECK(queue_env_format(&env, &a) == 0);
	for (size_t i = 0; i < env.rcpt_count && i < 4; i++) {
		env.rcpts[i].state = QUEUE_DEFERRED;
		env.rcpts[i].attempts++;
		CHECK(queue_env_format_update(&env, i, &a) == 0);
	}
	CHECK(queue_env_parse(a.data, a.len, &again, &valid, &line, &err) == 0);
	CHECK(valid == a.len);
	CHECK(again.rcpt_count == env.rcpt_count);
	CHECK(strcmp(again.sender, env.sender) == 0);
	for (size_t i = 0; i < env.rcpt_count; i++) {
		CHECK(again.rcpts[i].state == env.rcpts[i].state);
		CHECK(again.rcpts[i].attempts == env.rcpts[i].attempts);
		CHECK(strcmp(again.rcpts[i].addr, env.rcpts[i].addr) == 0);
		CHECK(strcmp(again.rcpts[i].reply, env.rcpts[i].reply) == 0);
	}
	CHECK(queue_env_format(&again, &b) == 0);
	buf_reset(&a);
	CHECK(queue_env_format(&env, &a) == 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	queue_env_clear(&again);
	queue_env_clear(&env);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
