/* SPDX-License-Identifier: MIT */
/* test_registry.c: the parser's schema tables and the live plug-in tables describe the same roles and check kinds.
 *
 * A role or check kind has two halves: what the scenario format knows of it
 * (roles/role_schemas.c, checks/check_schemas.c: pure, linked by the parser
 * alone) and what it does (roles/roles.c role_table, checks/check_kinds.c
 * check_table). Both are indexed by the same id; this test fails when an
 * entry is added to one table and not the other, or lands at another index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "checks/check.h"
#include "roles/role.h"
#include "scenario/schema.h"
#include "services/service.h"
#include "services/service_schemas.h"

static void test_roles_match_their_schemas(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(role_table_len, scn_n_role_schemas);
	for (i = 0; i < role_table_len; i++) {
		assert_non_null(role_table[i]);
		assert_non_null(scn_role_schemas[i]);
		assert_string_equal(role_table[i]->name, scn_role_schemas[i]->name);
		/* every role boots an image of its own name or a shared one */
		assert_non_null(role_table[i]->image);
		assert_true(role_table[i]->image[0] != '\0');
	}
}

static void test_check_kinds_match_their_schemas(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(check_table_len, scn_n_check_schemas);
	for (i = 0; i < check_table_len; i++) {
		assert_non_null(check_table[i]);
		assert_non_null(scn_check_schemas[i]);
		assert_string_equal(check_table[i]->name, scn_check_schemas[i]->key);
		/* a kind either runs when its turn comes or is judged at the end */
		assert_true((check_table[i]->run != NULL) != (check_table[i]->verdict != NULL));
		assert_non_null(check_table[i]->proto);
	}
}

static void test_services_are_complete(void **state)
{
	const struct service_ops *const *all;
	size_t n, i, j;

	(void)state;
	all = services_registry(&n);
	assert_true(n >= scn_n_service_schemas);
	for (i = 0; i < n; i++) {
		assert_non_null(all[i]->name);
		assert_non_null(all[i]->wanted);
		for (j = 0; j < i; j++)
			assert_string_not_equal(all[i]->name, all[j]->name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_match_their_schemas),
		cmocka_unit_test(test_check_kinds_match_their_schemas),
		cmocka_unit_test(test_services_are_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
