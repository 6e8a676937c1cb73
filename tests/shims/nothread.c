/*
 * nothread.c - an LD_PRELOAD shim for the tests: pthread_create always
 * fails (EAGAIN, as when a process is out of threads), so that a tool's
 * fallback to doing everything in its own thread is what runs.
 */
#include <errno.h>
#include <pthread.h>

int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg)
{
	(void)thread;
	(void)attr;
	(void)start;
	(void)arg;
	return EAGAIN;
}
