/*
 * expect.h: what the table-driven unit tests share. Include it after
 * <cmocka.h>.
 */
#ifndef DHO_EXPECT_H
#define DHO_EXPECT_H

/* Checks cond for one row of a table; a failure names the row's case
 * before it fails the test, so a table of fifty rows says which one. */
#define EXPECT(row, cond)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			print_error("case \"%s\": %s\n", (row), #cond);         \
			fail();                                                  \
		}                                                                \
	} while (0)

#endif
