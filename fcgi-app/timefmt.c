/* timefmt.c - timestamps as the API shows them: 2020-10-22T14:55:52.638Z
 *
 * Plain proleptic Gregorian arithmetic on integers (days_to_civil() is the
 * well-known era-based algorithm: 400-year eras of 146097 days, years
 * starting on 1 March so the leap day comes last), so there is no
 * dependency on gmtime(), the TZ environment or the locale.
 */
#include "timefmt.h"

#include <stdio.h>

#define MS_PER_SEC INT64_C(1000)
#define SEC_PER_DAY INT64_C(86400)
/* Seconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_UNIX_SEC INT64_C(946684800)
/* Days from 1970-01-01 to 0001-01-01 and to 9999-12-31. */
#define DAYS_MIN INT64_C(-719162)
#define DAYS_MAX INT64_C(2932896)

/* a / b rounded towards minus infinity (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/* a mod b in [0, b) (b > 0). */
static int64_t floor_mod(int64_t a, int64_t b)
{
	int64_t r = a % b;

	return r < 0 ? r + b : r;
}

int64_t timefmt_pg_to_unix_ms(int64_t pg_usec)
{
	/* |pg_usec / 1000| <= 9.3e15, so adding 9.5e14 cannot overflow. */
	return floor_div(pg_usec, 1000) + PG_EPOCH_UNIX_SEC * MS_PER_SEC;
}

/* Civil date of a day number (days since 1970-01-01). */
static void days_to_civil(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t z = days + 719468; /* days since 0000-03-01 */
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                                  /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11], from March */

	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

/* Writes v as exactly n decimal digits, zero-padded. */
static char *put_digits(char *p, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

int timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_LEN + 1])
{
	int64_t secs = floor_div(unix_ms, MS_PER_SEC);
	int64_t ms = floor_mod(unix_ms, MS_PER_SEC);
	int64_t days = floor_div(secs, SEC_PER_DAY);
	int64_t sod = floor_mod(secs, SEC_PER_DAY);
	int64_t year;
	int month, day;
	char *p = out;

	if (days < DAYS_MIN || days > DAYS_MAX) {
		out[0] = '\0';
		return -1;
	}
	days_to_civil(days, &year, &month, &day);

	p = put_digits(p, year, 4);
	*p++ = '-';
	p = put_digits(p, month, 2);
	*p++ = '-';
	p = put_digits(p, day, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, ms, 3);
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

/* n decimal digits at s into *v; false when one is not a digit. */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int timefmt_parse_iso(const char *s, size_t len, char out[TIMEFMT_PG_LEN + 1])
{
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	char frac[7] = "000000", sign = '+';
	size_t i = 10;

	if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	if (len > 10) {
		if (len < 20 || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
		    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec) ||
		    h > 23 || mi > 59 || sec > 59)
			return -1;
		i = 19;
		if (s[i] == '.') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++)
				if (n < 6)
					frac[n] = s[i];
			if (n == 0 || n > 9)
				return -1;
		}
		if (i < len && s[i] == 'Z') {
			i++;
		} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
			   digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
			   digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
			sign = s[i];
			i += 6;
		} else {
			return -1;
		}
	}
	if (i != len)
		return -1;
	snprintf(out, TIMEFMT_PG_LEN + 1, "%04d-%02d-%02d %02d:%02d:%02d.%s%c%02d:%02d",
		 y, mo, d, h, mi, sec, frac, sign, oh, om);
	return 0;
}
