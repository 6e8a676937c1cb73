/*
 * table.c - text tables for mq-inspect: rows of strings printed under a
 * header with columns two spaces apart, each column as wide as its widest
 * cell.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tool.h"

void table_add_row(struct table *tb, const char *const *row)
{
	if (tb->nrows == tb->cap) {
		tb->cap = tb->cap ? tb->cap * 2 : 16;
		tb->cells = realloc(tb->cells,
		                    tb->cap * (size_t)tb->ncols * sizeof (char *));
		if (!tb->cells)
			die(EXIT_ERROR, "out of memory");
	}
	for (int c = 0; c < tb->ncols; c++) {
		char *copy = strdup(row[c] ? row[c] : "");
		if (!copy)
			die(EXIT_ERROR, "out of memory");
		tb->cells[tb->nrows * (size_t)tb->ncols + (size_t)c] = copy;
	}
	tb->nrows++;
}

void table_add(struct table *tb, ...)
{
	const char *row[TABLE_MAXCOLS];
	va_list ap;

	va_start(ap, tb);
	for (int c = 0; c < tb->ncols; c++)
		row[c] = va_arg(ap, const char *);
	va_end(ap);
	table_add_row(tb, row);
}

void table_print(struct table *tb)
{
	size_t w[TABLE_MAXCOLS] = { 0 };
	for (int c = 0; c < tb->ncols; c++) {
		w[c] = strlen(tb->heads[c]);
		for (size_t r = 0; r < tb->nrows; r++) {
			size_t n = strlen(tb->cells[r * (size_t)tb->ncols +
			                            (size_t)c]);
			if (n > w[c])
				w[c] = n;
		}
	}
	for (size_t r = 0; r <= tb->nrows; r++) {
		for (int c = 0; c < tb->ncols; c++) {
			const char *s = r == 0 ? tb->heads[c] :
			    tb->cells[(r - 1) * (size_t)tb->ncols + (size_t)c];
			int last = c == tb->ncols - 1;
			if (tb->right[c] == 'r')
				printf("%*s", (int)w[c], s);
			else if (last)
				fputs(s, stdout);
			else
				printf("%-*s", (int)w[c], s);
			fputs(last ? "\n" : "  ", stdout);
		}
	}
	for (size_t i = 0; i < tb->nrows * (size_t)tb->ncols; i++)
		free(tb->cells[i]);
	free(tb->cells);
	tb->cells = NULL;
	tb->nrows = tb->cap = 0;
}
