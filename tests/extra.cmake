# tests/extra.cmake: extra ctest registrations, included from tests/CMakeLists.txt.
# Each helper appends its own block below; keep blocks separate and self-contained.

# ---- ABI: constants, prototypes and exports (owner: abi helper) -------------------------
# abi_constants: print_constants.c built against zinc's zmq.h and against the system
# libzmq's zmq.h; compare_constants.sh diffs their output (and, with GCC, the prototypes).
# Skipped when the system header is absent. The printers need no library.
set(ZINC_SYSTEM_ZMQ_H /usr/include/zmq.h CACHE FILEPATH "libzmq's zmq.h to compare against")
if(EXISTS ${ZINC_SYSTEM_ZMQ_H})
	foreach(flavour zinc libzmq)
		if(flavour STREQUAL zinc)
			set(header ${CMAKE_SOURCE_DIR}/include/zmq.h)
		else()
			set(header ${ZINC_SYSTEM_ZMQ_H})
		endif()
		add_executable(abi_print_${flavour} ${CMAKE_CURRENT_SOURCE_DIR}/abi/print_constants.c)
		target_compile_definitions(abi_print_${flavour} PRIVATE "ZMQ_HEADER=\"${header}\"")
		target_include_directories(abi_print_${flavour} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/abi)
	endforeach()
	set(abi_proto_args)
	if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
		set(abi_proto_args ${CMAKE_C_COMPILER} ${CMAKE_SOURCE_DIR}/include/zmq.h
			${ZINC_SYSTEM_ZMQ_H})
	endif()
	add_test(NAME abi_constants
		COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/abi/compare_constants.sh
			$<TARGET_FILE:abi_print_zinc> $<TARGET_FILE:abi_print_libzmq> ${abi_proto_args})
	set_tests_properties(abi_constants PROPERTIES TIMEOUT 60)
else()
	message(STATUS "abi_constants test skipped: ${ZINC_SYSTEM_ZMQ_H} not found")
endif()

# exports_libzmq / exports_libzinc: nm -D and readelf -d of the built shared libraries.
find_program(ZINC_READELF NAMES readelf ${CMAKE_READELF})
if(CMAKE_NM AND ZINC_READELF)
	add_test(NAME exports_libzmq
		COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_exports.sh
			$<TARGET_SONAME_FILE:zmq_dropin> libzmq.so.5
			${CMAKE_CURRENT_SOURCE_DIR}/libzmq434-exports.txt ${CMAKE_NM} ${ZINC_READELF})
	add_test(NAME exports_libzinc
		COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/test_exports.sh
			$<TARGET_SONAME_FILE:zinc> libzinc.so.0
			${CMAKE_CURRENT_SOURCE_DIR}/libzmq434-exports.txt ${CMAKE_NM} ${ZINC_READELF})
	set_tests_properties(exports_libzmq exports_libzinc PROPERTIES TIMEOUT 60)
else()
	message(STATUS "export tests skipped: nm or readelf not found")
endif()
# ---- end ABI ---------------------------------------------------------------------------
