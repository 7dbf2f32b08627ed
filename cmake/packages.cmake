# packages.cmake: what `cmake --install` gives other builds: find_package(ZeroMQ)
# (libzmq's targets, libzmq and libzmq-static), find_package(zinc) (zinc::zinc), and
# the pkg-config files libzmq.pc and zinc.pc. Included from the top CMakeLists.txt.
include(CMakePackageConfigHelpers)

# From <libdir>/cmake/<name>/ back to the prefix ("../../.." for libdir "lib").
file(RELATIVE_PATH ZINC_CONFIG_TO_PREFIX
	"/prefix/${CMAKE_INSTALL_LIBDIR}/cmake/name" "/prefix")
set(ZINC_DROPIN_SONAME libzmq.so.5)
set(ZINC_SONAME libzinc.so.0)
set(ZINC_STATIC_DEPS "")
if(SODIUM_FOUND)
	set(ZINC_STATIC_DEPS "${SODIUM_LINK_LIBRARIES}")
endif()

foreach(pkg ZeroMQ zinc)
	configure_file(${CMAKE_SOURCE_DIR}/cmake/${pkg}Config.cmake.in
		${CMAKE_BINARY_DIR}/cmake/${pkg}Config.cmake @ONLY)
	write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/${pkg}ConfigVersion.cmake
		VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
	install(FILES ${CMAKE_BINARY_DIR}/cmake/${pkg}Config.cmake
		${CMAKE_BINARY_DIR}/cmake/${pkg}ConfigVersion.cmake
		DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/${pkg})
endforeach()

# pkg-config files: one copy in the build tree (configure time), and the installed
# ones written at install time, so `cmake --install build --prefix DIR` gives DIR.
set(ZINC_LIBS_PRIVATE "-lpthread")
if(SODIUM_FOUND)
	string(APPEND ZINC_LIBS_PRIVATE " -lsodium")
endif()
foreach(pc zinc libzmq)
	configure_file(${CMAKE_SOURCE_DIR}/${pc}.pc.in ${CMAKE_BINARY_DIR}/${pc}.pc @ONLY)
	install(CODE "
		set(PROJECT_VERSION \"${PROJECT_VERSION}\")
		set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
		set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
		set(ZINC_LIBS_PRIVATE \"${ZINC_LIBS_PRIVATE}\")
		configure_file(\"${CMAKE_SOURCE_DIR}/${pc}.pc.in\"
			\"${CMAKE_BINARY_DIR}/pc-install/${pc}.pc\" @ONLY)
		file(INSTALL \"${CMAKE_BINARY_DIR}/pc-install/${pc}.pc\"
			DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")")
endforeach()

# Man pages (man/, checked in; man/mkman.py makes man3 from man/functions.txt and man7
# from man/options.txt and man/pages.txt).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/man/man1 ${CMAKE_SOURCE_DIR}/man/man3 ${CMAKE_SOURCE_DIR}/man/man7
	DESTINATION ${CMAKE_INSTALL_MANDIR})
