/* fault.h - fault hooks for the end-to-end tests: a worker held at a named
 * point of a request, so that a test can kill it there (docs/idempotency.md,
 * "Testing a crash after the commit").
 *
 * Compiled in only by `./configure --enable-fault-hooks`
 * (-DCONTACTS_FAULT_HOOKS), which scripts/test uses and the package build
 * (debian/rules) does not: in any other build FAULT_POINT() is nothing, and
 * the binary holds no trace of it.
 *
 * In a build with the hooks, they are live only when the environment names
 * a directory, CONTACTS_FAULT_DIR (scripts/test sets it to the stack's run
 * directory).  A test arms a point by writing a file there:
 *
 *     <dir>/fault.<point>       its content: the pause in milliseconds
 *
 * The first worker to reach the point takes the file (a
 * rename: exactly one worker does), writes its pid to <dir>/fault.<point>.pid
 * and sleeps for the pause, then goes on.  Points: after_commit (an
 * idempotent write committed, its answer not sent yet); worker_start (a
 * new worker, before it settles what the slot's last worker left).
 */
#ifndef CONTACTS_FAULT_H
#define CONTACTS_FAULT_H

#ifdef CONTACTS_FAULT_HOOKS
void fault_point(const char *point);
#define FAULT_POINT(point) fault_point(point)
#else
#define FAULT_POINT(point) ((void)0)
#endif

#endif
