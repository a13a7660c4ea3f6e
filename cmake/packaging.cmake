# Install layout and the Debian package (CPack DEB). scripts/package.sh builds
# the .deb; scripts/check-unit.sh checks this layout through DESTDIR.
#
# The layout is the one of a distribution package, for prefix /usr:
#   /usr/sbin/ticketsyncd                      the daemon and its CLI
#   /usr/lib/systemd/system/ticketsyncd.service
#   /usr/lib/sysusers.d/ticketsync.conf        users and groups
#   /usr/lib/tmpfiles.d/ticketsync.conf        the spool directories
#   /etc/ticketsync/ticketsync.yaml            reference configuration (conffile)
#   /usr/share/ticketsync/migrations/          schema (also compiled in)
#   /usr/share/doc/ticketsync/README.md
# systemd's unit, sysusers and tmpfiles directories are lib/..., never
# CMAKE_INSTALL_LIBDIR (lib/x86_64-linux-gnu on Debian). The configuration goes
# to /etc/ticketsync whatever the prefix: it is the daemon's default path and
# the unit's; GNUInstallDirs' relative CMAKE_INSTALL_SYSCONFDIR would give
# /usr/etc (only CMAKE_INSTALL_FULL_SYSCONFDIR special-cases prefix /usr).
# Install with `cmake --install BUILD --prefix /usr` (DESTDIR=... to stage).
include(GNUInstallDirs)

install(TARGETS ticketsyncd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES systemd/ticketsyncd.service DESTINATION lib/systemd/system)
install(FILES systemd/ticketsync.sysusers DESTINATION lib/sysusers.d RENAME ticketsync.conf)
install(FILES systemd/ticketsync.tmpfiles DESTINATION lib/tmpfiles.d RENAME ticketsync.conf)
install(FILES config/ticketsync.yaml DESTINATION /etc/ticketsync)
install(DIRECTORY migrations/ DESTINATION ${CMAKE_INSTALL_DATADIR}/ticketsync/migrations FILES_MATCHING PATTERN "*.sql")
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- CPack: ticketsync_<version>_<arch>.deb ----------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ticketsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "ticketsync developers")
set(CPACK_PACKAGE_CONTACT "ticketsync developers <dev@ticketsync.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "security issues to ConnectWise PSA tickets")
# Lines of the extended description, as the control file shows them.
set(CPACK_PACKAGE_DESCRIPTION
  "ticketsyncd turns security issues (alerts, findings and incidents from\n"
  "products such as Wazuh, Defender, Guardz or Huntress) into ConnectWise PSA\n"
  "service tickets: producers drop events into a local spool, the daemon\n"
  "commits them to a durable SQLite queue, maps each issue to a company,\n"
  "board, status and priority, and keeps exactly one ticket per issue.")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps and are appended to these:
# systemd for the unit's settings (ProtectProc=, LoadCredential=: >= 247) and
# for systemd-sysusers/systemd-tmpfiles in postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
# Maintainer scripts 0755, conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Absolute destinations (/etc/ticketsync) are intended; no warning for them.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
