/*
 * isotime.c - ISO 8601 timestamps to milliseconds since the epoch, in UTC
 * arithmetic so the result never depends on TZ.
 */
#include <ctype.h>

#include "isotime.h"

/* Reads exactly n digits at *s, advancing it; -1 if they are not there. */
static int digits(const char **s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	                          31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

int isotime_parse(const char *s, int64_t *ms)
{
	const char *p = s;
	if (!*p)
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (!*p) {
		/* All digits: milliseconds since the epoch. */
		int64_t v = 0;
		for (p = s; *p; p++) {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		*ms = v;
		return 0;
	}
	p = s;
	int y = digits(&p, 4);
	if (y < 0 || *p++ != '-')
		return -1;
	int mo = digits(&p, 2);
	if (mo < 1 || mo > 12 || *p++ != '-')
		return -1;
	int d = digits(&p, 2);
	if (d < 1 || d > days_in_month(y, mo))
		return -1;
	int h = 0, mi = 0, sec = 0, frac = 0, tz = 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		h = digits(&p, 2);
		if (h < 0 || h > 23 || *p++ != ':')
			return -1;
		mi = digits(&p, 2);
		if (mi < 0 || mi > 59)
			return -1;
		if (*p == ':') {
			p++;
			sec = digits(&p, 2);
			if (sec < 0 || sec > 59)
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (int scale = 100; isdigit((unsigned char)*p);
				     p++, scale /= 10)
					frac += (*p - '0') * scale;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1;
			int th = digits(&p, 2);
			if (th < 0 || th > 23 || *p++ != ':')
				return -1;
			int tm = digits(&p, 2);
			if (tm < 0 || tm > 59)
				return -1;
			tz = sign * (th * 60 + tm);
		}
	}
	if (*p)
		return -1;
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
	               + sec - (int64_t)tz * 60;
	*ms = secs * 1000 + frac;
	return 0;
}
