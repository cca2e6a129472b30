# Dependency lookup with an error that names the Debian package to install.
#   pml_require_package(<find_package name> <min version or "">  <debian package>)
macro(pml_require_package name version debian_package)
  find_package(${name} ${version} QUIET)
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "pml needs ${name}${version} which was not found. On Debian/Ubuntu install it with:\n"
      "  apt-get install ${debian_package}\n"
      "(or run `bash cmake/quickstart.sh test`, which installs what is missing).")
  endif()
endmacro()
