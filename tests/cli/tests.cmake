# tests/cli/tests.cmake: ctest entries for the `zinc` command (tests/cli/test_cli.py,
# one entry a case) and for the installed packages (tests/package/test_package.sh).
# Included from tests/extra.cmake. The pyzmq_* cases run Debian's libzmq through
# /usr/bin/python3 with LD_LIBRARY_PATH unset; they skip (77) without python3-zmq.
set(ZINC_CLI_PYTHON3 /usr/bin/python3 CACHE FILEPATH "python3 for the zinc command's tests")
if(EXISTS ${ZINC_CLI_PYTHON3})
	set(cli_cases formats reqrep pubsub pair_dealer_router errors plain curve proxy
		monitor monitor_hint bench pyzmq_sub pyzmq_pub pyzmq_req pyzmq_monitor)
	if(NOT ZINC_SANITIZE)
		# Runs this binary on the system libzmq, which is not built with sanitizers.
		list(APPEND cli_cases bench_compare)
	endif()
	foreach(case ${cli_cases})
		add_test(NAME cli_${case}
			COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH
				${ZINC_CLI_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_cli.py
				$<TARGET_FILE:zinc_cli> ${case})
		set_tests_properties(cli_${case} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77)
	endforeach()
else()
	message(STATUS "zinc command tests skipped: ${ZINC_CLI_PYTHON3} not found")
endif()

# package_install: cmake --install to a temporary prefix and three out-of-tree builds.
# Not with sanitizers: the consumer programs are built without them.
if(NOT ZINC_SANITIZE)
	add_test(NAME package_install
		COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/../package/test_package.sh ${CMAKE_BINARY_DIR}
			${CMAKE_C_COMPILER})
	set_tests_properties(package_install PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
endif()

# man_pages: every exported zmq_* function, socket option, socket type and transport has
# a page (or a section of one) saying how zinc differs.
if(CMAKE_NM)
	add_test(NAME man_pages
		COMMAND sh ${CMAKE_SOURCE_DIR}/man/test_man.sh $<TARGET_SONAME_FILE:zmq_dropin>
			${CMAKE_SOURCE_DIR}/man ${CMAKE_NM})
	set_tests_properties(man_pages PROPERTIES TIMEOUT 60)
endif()
