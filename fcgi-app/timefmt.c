/* timefmt.c - timestamps as the API shows them: 2020-10-22T14:55:52.638Z
 *
 * Plain proleptic Gregorian arithmetic on integers (days_to_civil() is the
 * well-known era-based algorithm: 400-year eras of 146097 days, years
 * starting on 1 March so the leap day comes last), so there is no
 * dependency on gmtime(), the TZ environment or the locale.
 */
#include "timefmt.h"

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
