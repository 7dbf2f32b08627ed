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

# ---- ABI proof with the real pyzmq (owner: ctx/oom/pyzmq helper) ------------------------
# abi_pyzmq: Debian's python3-zmq (built against libzmq 4.3.4) imports zinc's drop-in
# libzmq.so.5 through LD_LIBRARY_PATH alone; the script checks /proc/self/maps, the
# version (4.3.4) and an inproc PAIR round trip. Exit 77 (skip) when /usr/bin/python3
# cannot import zmq even with the system libzmq.
set(ZINC_PYTHON3 /usr/bin/python3 CACHE FILEPATH "python3 with pyzmq, for the ABI proof")
if(EXISTS ${ZINC_PYTHON3})
	add_test(NAME abi_pyzmq
		COMMAND ${CMAKE_COMMAND} -E env
			LD_LIBRARY_PATH=$<TARGET_FILE_DIR:zmq_dropin>
			${ZINC_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/py/abi_pyzmq.py
			$<TARGET_FILE_DIR:zmq_dropin>)
	set_tests_properties(abi_pyzmq PROPERTIES TIMEOUT 30 SKIP_RETURN_CODE 77)
else()
	message(STATUS "abi_pyzmq test skipped: ${ZINC_PYTHON3} not found")
endif()
# ---- end ABI proof with pyzmq ----------------------------------------------------------

# ---- fuzz: the ZMTP frame decoder and the PLAIN / CURVE server handshakes ---------------
# fuzz_zmtp_decoder and fuzz_mech_server are built with the other targets below (one
# instrumented copy of the library for all); ctest replays their corpora as
# fuzz_zmtp_decoder_replay and fuzz_mech_server_replay.
option(ZINC_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(ZINC_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
	message(STATUS "fuzz targets skipped: libFuzzer needs clang")
endif()
# ---- end fuzz: decoder and handshakes ----------------------------------------------------

# ---- interop: zinc against the system libzmq via python3-zmq (owner: interop helper) ----
# test_interop (registered by the test_*.c glob) runs tests/py/peer.py under /usr/bin/python3
# with LD_LIBRARY_PATH cleared; it exits 77 when that python cannot import zmq.
if(TARGET test_interop)
	target_compile_definitions(test_interop PRIVATE
		ZINC_PEER_PY="${CMAKE_CURRENT_SOURCE_DIR}/py/peer.py")
	set_tests_properties(test_interop PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
		RUN_SERIAL TRUE)
endif()
# ---- end interop -----------------------------------------------------------------------

# ---- REQ/REP/DEALER/ROUTER (owner: reqrep helper) --------------------------------------
# test_reqrep and test_router (registered by the test_*.c glob) run zinc against zinc;
# with --interop the same programs run their cases against Debian's libzmq through
# /usr/bin/python3 and tests/py/reqrep_peer.py, exiting 77 (skip) without python3-zmq.
# ZINC_TEST_ZINC enables the cases for zinc's behaviour beyond libzmq's.
foreach(t test_reqrep test_router)
	if(TARGET ${t})
		target_compile_definitions(${t} PRIVATE ZINC_TEST_ZINC=1
			ZINC_REQREP_PEER_PY="${CMAKE_CURRENT_SOURCE_DIR}/py/reqrep_peer.py")
		add_test(NAME ${t}_interop COMMAND ${t} --interop)
		set_tests_properties(${t}_interop PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
			RUN_SERIAL TRUE)
	endif()
endforeach()
# ---- end REQ/REP/DEALER/ROUTER ---------------------------------------------------------

# ---- pub/sub: PUB, SUB, XPUB, XSUB (owner: pub/sub helper) ------------------------------
# test_pubsub (registered by the test_*.c glob) runs its interop cases against Debian's
# libzmq through tests/py/pubsub_peer.py under /usr/bin/python3 with LD_LIBRARY_PATH
# cleared; it exits 77 when everything else passed but that python cannot import zmq.
if(TARGET test_pubsub)
	target_compile_definitions(test_pubsub PRIVATE
		ZINC_PUBSUB_PEER_PY="${CMAKE_CURRENT_SOURCE_DIR}/py/pubsub_peer.py")
	set_tests_properties(test_pubsub PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
# ---- end pub/sub -----------------------------------------------------------------------

# ---- security interop: PLAIN, NULL+ZAP, mismatches, zinc <-> Debian's libzmq ----------
# tests/py/security_interop.py runs each scenario as two processes (server and client),
# one on zinc and one on the system libzmq, both directions, tcp and ipc; libzmq against
# itself too, so the expectations are proven on the reference. Skips (77) without
# python3-zmq. The name contains "pyzmq" so the sanitizer run leaves it out.
add_test(NAME pyzmq_security_interop
	COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/py/security_interop.py
		${CMAKE_BINARY_DIR}/lib)
set_tests_properties(pyzmq_security_interop PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)

# ---- CURVE (owner: curve helper) --------------------------------------------------------
# test_curve (registered by the test_*.c glob) runs its interop cases against Debian's
# libzmq through tests/py/curve_peer.py under /usr/bin/python3 with LD_LIBRARY_PATH
# cleared; it exits 77 when the rest passed but that python cannot import zmq, or when
# zinc is built without libsodium.
if(TARGET test_curve)
	target_compile_definitions(test_curve PRIVATE
		ZINC_CURVE_PEER_PY="${CMAKE_CURRENT_SOURCE_DIR}/py/curve_peer.py")
	set_tests_properties(test_curve PROPERTIES SKIP_RETURN_CODE 77)
endif()
# ---- end CURVE --------------------------------------------------------------------------

# ---- Layers (owner: layers helper) -------------------------------------------------------
# test_layers: the include rule of docs/ARCHITECTURE.md over src/, OS calls only in
# src/platform/, errno set only in src/api/, no assert/abort, every file of src/ named
# in ARCHITECTURE.md. Needs only python3.
find_program(ZINC_PYTHON3 NAMES python3 PATHS /usr/bin)
if(ZINC_PYTHON3)
	add_test(NAME test_layers
		COMMAND ${ZINC_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/test_layers.py ${CMAKE_SOURCE_DIR})
	set_tests_properties(test_layers PROPERTIES TIMEOUT 60)
	# perf_plot: perf/plot.py still draws the checked-in compare.sh table (README).
	add_test(NAME perf_plot
		COMMAND ${ZINC_PYTHON3} ${CMAKE_SOURCE_DIR}/perf/plot.py
			${CMAKE_SOURCE_DIR}/docs/perf/compare.md)
	set_tests_properties(perf_plot PROPERTIES TIMEOUT 60
		PASS_REGULAR_EXPRESSION "<svg .*</svg>")
else()
	message(STATUS "test_layers skipped: no python3")
endif()

# ---- the zinc command and the installed packages (owner: cli helper, issue 13) ---------
include(${CMAKE_CURRENT_SOURCE_DIR}/cli/tests.cmake)
# ---- end zinc command ------------------------------------------------------------------

# ---- fuzz: the other libFuzzer targets (owner: fuzz helper, issue 11) ------------------
# Each tests/fuzz/<name>.c defines LLVMFuzzerTestOneInput. With clang and -DZINC_FUZZ=ON
# it becomes a libFuzzer binary (ASan+UBSan) linked with zinc_fuzz_lib, the library's
# sources instrumented for coverage; a target may define functions the library also has
# (fuzz_engine's stand-in session): the archive's object is then not pulled in. In every
# build, <name>_replay runs the same function over tests/fuzz/corpus/<corpus> (seeds and
# kept crash inputs) under ctest. tests/fuzz/run.sh builds and runs them all.
if(ZINC_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
	add_library(zinc_fuzz_lib STATIC ${ZINC_SOURCES})
	target_include_directories(zinc_fuzz_lib PUBLIC ${CMAKE_SOURCE_DIR}/include
		${CMAKE_SOURCE_DIR}/src)
	target_compile_definitions(zinc_fuzz_lib PUBLIC ZINC_BUILDING)
	target_link_libraries(zinc_fuzz_lib PUBLIC Threads::Threads)
	if(SODIUM_FOUND)
		target_compile_definitions(zinc_fuzz_lib PUBLIC ZINC_HAVE_CURVE)
		target_link_libraries(zinc_fuzz_lib PUBLIC PkgConfig::SODIUM)
	endif()
	target_compile_options(zinc_fuzz_lib PUBLIC
		-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
	target_link_options(zinc_fuzz_lib PUBLIC -fsanitize=address,undefined)
	# A body announced past 64 KiB grows as it arrives (8 MiB in the library): under
	# ASan every fresh 8 MiB costs a millisecond of page faults.
	target_compile_definitions(zinc_fuzz_lib PUBLIC "ZMTP_EAGER_MAX=((size_t)64 << 10)")
endif()
# With libsodium, fuzz_sodium.c stands in for it in the targets and their replays (see
# there: a CURVE handshake's X25519 work took most of a CURVE input's time).
set(zinc_fuzz_extra)
if(SODIUM_FOUND)
	set(zinc_fuzz_extra ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_sodium.c)
endif()
function(zinc_fuzz_target name corpus)
	set(src ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${name}.c ${zinc_fuzz_extra})
	if(TARGET zinc_fuzz_lib)
		add_executable(${name} ${src} ${ARGN})
		target_link_libraries(${name} PRIVATE zinc_fuzz_lib)
		target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
		target_link_options(${name} PRIVATE -fsanitize=fuzzer)
		if(SODIUM_FOUND)
			target_compile_definitions(${name} PRIVATE FUZZ_SODIUM)
		endif()
	endif()
	add_executable(${name}_replay ${src} ${ARGN}
		${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_replay.c)
	target_link_libraries(${name}_replay PRIVATE zinc_internal)
	if(SODIUM_FOUND)
		target_compile_definitions(${name}_replay PRIVATE FUZZ_SODIUM)
	endif()
	add_test(NAME ${name}_replay COMMAND ${name}_replay
		${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${corpus})
	set_tests_properties(${name}_replay PROPERTIES TIMEOUT 120)
endfunction()
zinc_fuzz_target(fuzz_zmtp_decoder zmtp_decoder)
zinc_fuzz_target(fuzz_mech_server mech_server)
zinc_fuzz_target(fuzz_z85 z85)
zinc_fuzz_target(fuzz_endpoint endpoint)
zinc_fuzz_target(fuzz_sockopt sockopt)
zinc_fuzz_target(fuzz_xpub xpub)
zinc_fuzz_target(fuzz_engine_server engine_server)
zinc_fuzz_target(fuzz_engine_client engine_client)
zinc_fuzz_target(fuzz_shm_setup shm_setup)
zinc_fuzz_target(fuzz_shm_ring shm_ring)
# ---- end fuzz: the other targets -------------------------------------------------------

# ---- the failure sweep (owner: oom helper, issue 11) ------------------------------------
# oom_sweep: every scenario of tests/oom_sweep.c with each allocation, and each call
# creating a descriptor or a mapping, failing in turn (once, and from then on). ctest
# runs it with a stride (a different offset each run); tests/oom_sweep.sh runs it whole.
add_executable(oom_sweep ${CMAKE_CURRENT_SOURCE_DIR}/oom_sweep.c)
target_link_libraries(oom_sweep PRIVATE zinc_internal)
target_include_directories(oom_sweep PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
set(ZINC_OOM_STRIDE 4 CACHE STRING "oom_sweep's stride under ctest")
add_test(NAME oom_sweep COMMAND oom_sweep --stride ${ZINC_OOM_STRIDE})
set_tests_properties(oom_sweep PROPERTIES TIMEOUT 300)
# The cases that found bugs, swept whole: oom_sweep_curve_multipart (an engine that
# ended in the middle of a multipart message must not leave its rest to the next one:
# the peer took part 2 of a message for a whole one; fixed in session.c).
add_test(NAME oom_sweep_curve_multipart
	COMMAND oom_sweep --only curve --hook alloc --mode once --from 60 --to 100)
set_tests_properties(oom_sweep_curve_multipart PROPERTIES TIMEOUT 120)
# oom_sweep_plain_sticky: a peer's metadata leaked (LeakSanitizer, in an ASan build)
# when an engine ended in the middle of a read: the whole messages it had written were
# never flushed, and the reader's end freed only what was published (fixed in
# session.c, which now flushes them, and pipe.c, whose pipe_free takes everything).
add_test(NAME oom_sweep_plain_sticky
	COMMAND oom_sweep --only plain --hook alloc --mode sticky --from 80 --to 100)
set_tests_properties(oom_sweep_plain_sticky PROPERTIES TIMEOUT 120)
# oom_sweep_recovery: once mode, every allocation, the scenarios whose failures left
# a connection that never came back (a service must recover once memory does): a
# listener whose poller registration failed stayed deaf (ipc, n ~ 44; listener.c);
# shm rings whose memfd could not be made ended as a protocol error, never retried
# (shm fd; engine.c); a ZAP handler that could not take the session's pipe left the
# handshake hanging (plain; session.c); a subscription the XPUB could not store was
# dropped silently (pub-subscriptions; xpub.c, with the connection retried instead).
add_test(NAME oom_sweep_recovery
	COMMAND oom_sweep --only ipc,shm,pub-subscriptions,plain --mode once)
set_tests_properties(oom_sweep_recovery PROPERTIES TIMEOUT 300)
# ---- end failure sweep -----------------------------------------------------------------
