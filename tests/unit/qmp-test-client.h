/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An in-process QMP client for unit tests: a socket chardev on one end of
 * a socketpair (fd=N) carries a QMP monitor, the test speaks QMP on the
 * other end. Parsing happens on the monitor I/O thread; in-band commands
 * only run when the test thread (which holds the BQL) spins the main loop,
 * so every wait here spins it, bounded by WAIT_MS. Failures abort the test
 * with a message that says what was expected and what came.
 */
#ifndef TESTS_UNIT_QMP_TEST_CLIENT_H
#define TESTS_UNIT_QMP_TEST_CLIENT_H

#include <stdbool.h>
#include <json-c/json.h>
#include <glib.h>
#include "chardev/char.h"

#define WAIT_MS 5000

typedef struct Client {
    int fd;             /* the test's end; -1 once hung up */
    int server_fd;      /* the chardev's end (owned by the chardev) */
    Chardev *chr;
    GString *in;        /* received bytes not yet returned as lines */
} Client;

/* g_test_init, main loop, BQL taken, monitors and run-state events. */
void qmp_test_init(int *argc, char ***argv);
/* g_test_run(), then monitors and chardevs closed; returns its status. */
int qmp_test_run(void);

/* A new monitor and its client; client_new() has read the greeting. */
Client *client_new_raw(void);
Client *client_new(void);
/* Hangs up; the monitor stays registered (monitors live until exit). */
void client_free(Client *c);

/* One main-loop iteration plus a short wait for the client socket. */
void spin(Client *c);
void send_bytes(Client *c, const void *buf, size_t len);
void send_str(Client *c, const char *s);
/* Sends s in one sendmsg() carrying fd (SCM_RIGHTS), as libvirt does. */
void send_str_with_fd(Client *c, const char *s, int fd);

/* The next reply line without CRLF / as JSON; fail after WAIT_MS. */
char *recv_line(Client *c);
/* The same without running the main loop: the BQL stays held, as by a
 * stuck main loop; only out-of-band commands can answer. */
char *recv_line_stuck(Client *c);
json_object *parse_line(const char *line);
json_object *recv_json(Client *c);
/* Spins for ms and checks that nothing arrived. */
void expect_silence(Client *c, int ms);

/* Checks on replies; member() fails when key is missing (borrowed). */
json_object *member(json_object *obj, const char *key);
void check_keys(json_object *obj, const char *const *keys);
json_object *check_return(json_object *resp, const char *id_json);
void check_error(json_object *resp, const char *cls, const char *desc_part,
                 const char *id_json);
void expect_error(Client *c, const char *line, const char *cls,
                  const char *desc_part, const char *id_json);
json_object *expect_return(Client *c, const char *line, const char *id_json);
/* expect_return() of a printf-built line, the reply dropped. */
void expect_ok(Client *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void negotiate(Client *c, bool oob);
/* query-name with id tag: the cheapest full round trip. */
void check_alive(Client *c, const char *tag);
bool is_parse_error(json_object *resp);
json_object *recv_until_id(Client *c, const char *id, int *errors);

#endif
