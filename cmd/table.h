/*
 * table.h - text tables for mq-inspect (table.c).
 */
#ifndef MQ_TABLE_H
#define MQ_TABLE_H

#include <stddef.h>

/* Columns a table may have. */
#define TABLE_MAXCOLS 12

/* A table: set ncols, heads and right; the rest starts zeroed. */
struct table {
	int ncols;                 /* at most TABLE_MAXCOLS */
	const char *const *heads;  /* ncols column titles */
	const char *right;         /* per column: 'r' right-aligns */
	char **cells;              /* nrows * ncols, malloc'ed strings */
	size_t nrows, cap;
};

/* table_add_row appends a row of ncols strings (copied; NULL is ""). Out
 * of memory exits 1. */
void table_add_row(struct table *tb, const char *const *row);

/* table_add appends one row given as ncols string arguments, then NULL. */
void table_add(struct table *tb, ...) __attribute__((sentinel));

/*
 * table_print prints the header and the rows with columns two spaces apart,
 * each as wide as its widest cell (the last column is not padded), then
 * empties the table.
 */
void table_print(struct table *tb);

#endif
