/* Password checks for the access protocols, on worker threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/userdb.h"
#include "server/serve.h"
#include "lib/log.h"

/* SQLite handles are per thread; the data directory never changes while
 * the server runs (a new one needs a restart). A thread's handle is closed
 * when the thread ends. */
static pthread_key_t db_key;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static void close_db(void *p)
{
	struct userdb *db = p;
	userdb_close(&db);
}

static void make_key(void)
{
	pthread_key_create(&db_key, close_db);
}

struct userdb *serve_thread_userdb(const char *data_dir)
{
	pthread_once(&db_once, make_key);
	struct userdb *db = pthread_getspecific(db_key);
	const char *err = NULL;
	if (db == NULL) {
		if (userdb_open(data_dir, &db, &err) < 0) {
			log_err("auth: cannot open the user directory: %s", err ? err : "?");
			return NULL;
		}
		pthread_setspecific(db_key, db);
	}
	return db;
}

int serve_auth_verify(const char *data_dir, const char *user, const char *password)
{
	struct userdb *db = serve_thread_userdb(data_dir);
	if (db == NULL)
		return -1;
	char lower[320];
	size_t n = strlen(user);
	if (n == 0 || n >= sizeof lower)
		return 0;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)(user[i] >= 'A' && user[i] <= 'Z' ? user[i] + 32 : user[i]);
	return userdb_verify_password(db, lower, password);
}
