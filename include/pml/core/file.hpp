#pragma once
/// @file
/// Whole-file I/O with errors that name the function, the user's path and the reason (strerror):
/// write_file_atomically() (a temporary file beside the target, then rename; special files and standard
/// streams written directly) and read_file(). POSIX (Linux, macOS).
///
/// The rules write_file_atomically() follows, in order:
/// 1. `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` (also reached through a link) are
///    written to the open descriptor N directly: no temporary, nothing replaced.
/// 2. A symbolic link is followed to its final target (a chain of links too, at most 40); the target is
///    written and the link stays a link. A link to a missing file creates that file.
/// 3. An existing FIFO, character or block device is opened and written directly (no temporary, the
///    special file stays what it is); a directory is refused.
/// 4. An existing regular file without write permission (mode 0444, or not writable by this user) is
///    refused with "Permission denied"; a writable one keeps its mode (and, where allowed, its owner).
/// 5. Otherwise the bytes go to `.NAME.pml-PID-TAG.tmp` in the target's directory, are flushed to disk
///    (fsync) and renamed over the target, so readers see the old file or the whole new one. On any
///    failure the temporary is removed and the target is untouched. A process killed mid-save leaves
///    its temporary behind: the next save of the same NAME removes temporaries whose PID is no longer
///    alive (and `.NAME.tmpDIGITS` files of earlier pml builds over an hour old).

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pml {
namespace detail {

/// strerror's text for `error` (thread-safe).
inline std::string error_text(int error) { return std::generic_category().message(error); }

/// The descriptor a path names when it is a standard stream's alias (`/dev/stdout`, `/dev/fd/1`,
/// `/proc/self/fd/1`, ...), else -1.
inline int descriptor_alias(const std::string& path) {
  if (path == "/dev/stdin") return 0;
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  const std::string own = "/proc/" + std::to_string(static_cast<long>(::getpid())) + "/fd/";
  for (const std::string& prefix : {std::string("/dev/fd/"), std::string("/proc/self/fd/"), std::string("/proc/thread-self/fd/"), own}) {
    if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0 || path.size() - prefix.size() > 9) continue;
    int fd = 0;
    bool digits = true;
    for (std::size_t i = prefix.size(); i < path.size(); ++i) {
      if (path[i] < '0' || path[i] > '9') digits = false;
      else fd = fd * 10 + (path[i] - '0');
    }
    if (digits) return fd;
  }
  return -1;
}

/// Writes all of `bytes` to `fd` (retrying short writes and EINTR). Returns 0 or the errno value.
inline int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ::ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

/// The start of every temporary name write_file_atomically() uses for `target`: ".NAME.pml-".
inline std::string temporary_prefix(const std::filesystem::path& target) {
  std::string name = ".";  // (built by appends: GCC 12 warns -Wrestrict on "." + string)
  return name.append(target.filename().string()).append(".pml-");
}

/// The temporary file for `target` written by process `pid`: `.NAME.pml-PID-TAG.tmp` beside it.
inline std::filesystem::path temporary_path(const std::filesystem::path& target, long pid, std::uint32_t tag) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(tag));
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  return dir / temporary_prefix(target).append(std::to_string(pid)).append("-").append(hex).append(".tmp");
}

/// Removes the temporaries of `target` left by processes that are no longer alive (killed mid-save):
/// regular files named exactly `.NAME.pml-PID-TAG.tmp` whose PID no process has, and those of earlier
/// pml builds (`.NAME.tmpDIGITS`, without a PID) once they are more than an hour old. Errors are
/// ignored.
inline void remove_stale_temporaries(const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = temporary_prefix(target);
  std::string legacy = ".";  // earlier pml builds: ".NAME.tmpDIGITS", no PID; removed when over an hour old
  legacy.append(target.filename().string()).append(".tmp");
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > legacy.size() && name.size() <= legacy.size() + 10 && name.compare(0, legacy.size(), legacy) == 0 &&
        name.find_first_not_of("0123456789", legacy.size()) == std::string::npos) {
      std::error_code e1, e2;
      const auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), e1);
      if (!e1 && age > std::chrono::hours(1) && fs::symlink_status(it->path(), e2).type() == fs::file_type::regular) fs::remove(it->path(), e2);
      continue;
    }
    if (name.size() < prefix.size() + 15 || name.compare(0, prefix.size(), prefix) != 0 || name.compare(name.size() - 4, 4, ".tmp") != 0) continue;
    // PID-TAG: decimal digits, '-', 8 hex digits
    const std::string rest = name.substr(prefix.size(), name.size() - prefix.size() - 4);
    const std::size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || dash > 10 || rest.size() - dash - 1 != 8) continue;
    if (rest.find_first_not_of("0123456789") != dash || rest.find_first_not_of("0123456789abcdef", dash + 1) != std::string::npos) continue;
    const long pid = std::stol(rest.substr(0, dash));
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<::pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    std::error_code ignored;
    if (fs::symlink_status(it->path(), ignored).type() == fs::file_type::regular) fs::remove(it->path(), ignored);
  }
}

/// `path` with symbolic links followed to the final target (at most 40 links). Sets `descriptor` when
/// the path (or a link on the way) is a standard stream's alias such as /dev/stdout.
inline std::filesystem::path follow_links(std::filesystem::path path, int& descriptor, const std::string& where) {
  namespace fs = std::filesystem;
  descriptor = -1;
  for (int depth = 0;; ++depth) {
    if ((descriptor = descriptor_alias(path.lexically_normal().string())) >= 0) return path;
    std::error_code ec;
    if (fs::symlink_status(path, ec).type() != fs::file_type::symlink) return path;
    if (depth == 40) throw std::runtime_error(where + ": " + error_text(ELOOP));
    const fs::path next = fs::read_symlink(path, ec);
    if (ec) throw std::runtime_error(where + ": " + ec.message());
    path = next.is_absolute() ? next : path.parent_path() / next;
  }
}

}  // namespace detail

/// Writes `contents` to `path` so that no data are lost: readers see either the old file or the whole
/// new one, and links, special files and read-only files are treated as the rules in this header's
/// description say (write through links, write special files and standard streams directly, refuse
/// read-only files, clean up temporaries of killed processes).
/// @param path      the user's path (a regular file, a link, a FIFO or device, /dev/stdout, ...)
/// @param contents  the bytes to write
/// @param function  the caller, for error messages
/// @throw std::runtime_error "FUNCTION: cannot write 'PATH': REASON" (REASON from strerror, e.g. "No space
///        left on device", "Permission denied (the file is read-only)", "directory 'd' does not
///        exist"); the target is then unchanged (a special file may have received part of the bytes).
inline void write_file_atomically(const std::filesystem::path& path, std::string_view contents, std::string_view function) {
  namespace fs = std::filesystem;
  const std::string where = std::string(function) + ": cannot write '" + path.string() + "'";
  int descriptor = -1;
  const fs::path target = detail::follow_links(path, descriptor, where);
  if (descriptor >= 0) {
    if (const int e = detail::write_all(descriptor, contents)) throw std::runtime_error(where + ": " + detail::error_text(e));
    return;
  }
  struct ::stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) throw std::runtime_error(where + ": " + detail::error_text(errno));
  if (exists && S_ISDIR(st.st_mode)) throw std::runtime_error(where + ": it is a directory");
  if (exists && !S_ISREG(st.st_mode)) {  // FIFO, device, socket: write in place, never replace
    const int fd = ::open(target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(where + ": " + detail::error_text(errno));
    int e = detail::write_all(fd, contents);
    if (::close(fd) != 0 && e == 0) e = errno;
    if (e) throw std::runtime_error(where + ": " + detail::error_text(e));
    return;
  }
  if (exists && ((st.st_mode & 0222) == 0 || ::access(target.c_str(), W_OK) != 0)) {
    const int e = (st.st_mode & 0222) == 0 || errno == EACCES || errno == EPERM ? EACCES : errno;
    throw std::runtime_error(where + ": " + detail::error_text(e) + (e == EACCES ? " (the file is read-only; change its mode or remove it first)" : ""));
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(where + ": directory '" + dir.string() + "' does not exist");
  detail::remove_stale_temporaries(target);

  thread_local std::mt19937 tags{std::random_device{}()};
  fs::path tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = detail::temporary_path(target, static_cast<long>(::getpid()), static_cast<std::uint32_t>(tags()));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, exists ? (st.st_mode & 07777) : 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0)
    throw std::runtime_error(where + ": cannot create a temporary file in '" + dir.string() + "': " + detail::error_text(errno));
  if (exists) {  // the new file keeps the old one's owner (where allowed) and mode (umask does not apply)
    if ((st.st_uid != ::geteuid() || st.st_gid != ::getegid()) && ::fchown(fd, st.st_uid, st.st_gid) != 0) {
      // not allowed (not root): the new file is the writer's, as any newly created file
    }
    if (::fchmod(fd, st.st_mode & 07777) != 0) {
      // the mode from open() (less the umask) stays
    }
  }
  int e = detail::write_all(fd, contents);
  if (e == 0 && ::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) e = errno;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && ::rename(tmp.c_str(), target.c_str()) != 0) e = errno;
  if (e) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(where + ": " + detail::error_text(e));
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // make the rename itself durable
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

/// The whole file as bytes (regular files, FIFOs, /dev/stdin).
/// @throw std::runtime_error "FUNCTION: cannot open 'PATH': REASON" (REASON from strerror, or "it is a
///        directory") or "FUNCTION: reading 'PATH' failed: REASON".
inline std::string read_file(const std::filesystem::path& path, std::string_view function) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string(function) + ": cannot open '" + path.string() + "': " + detail::error_text(errno));
  struct ::stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw std::runtime_error(std::string(function) + ": cannot open '" + path.string() + "': it is a directory");
  }
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[65536];
  while (true) {
    const ::ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw std::runtime_error(std::string(function) + ": reading '" + path.string() + "' failed: " + detail::error_text(e));
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// A file opened for reading pieces of it (pread): what a rank reads of its share of a data file.
/// Regular files only (a FIFO or device cannot be read at an offset).
class FileReader {
 public:
  /// @throw std::runtime_error "FUNCTION: cannot open 'PATH': REASON" (also for a directory or a file that
  ///        is not regular: "it is not a regular file, so it cannot be read in parts").
  FileReader(const std::filesystem::path& path, std::string_view function) : path_(path), function_(function) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block the open: it is refused below
    if (fd_ < 0) throw std::runtime_error(function_ + ": cannot open '" + path_.string() + "': " + detail::error_text(errno));
    struct ::stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      const bool directory = S_ISDIR(st.st_mode);
      ::close(fd_);
      throw std::runtime_error(function_ + ": cannot open '" + path_.string() + "': " +
                               (directory ? "it is a directory" : "it is not a regular file, so it cannot be read in parts"));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  ~FileReader() { ::close(fd_); }
  /// The file's size in bytes when it was opened.
  std::uint64_t size() const noexcept { return size_; }
  /// Up to `length` bytes from `offset` (fewer only at the end of the file).
  /// @throw std::runtime_error "FUNCTION: reading 'PATH' failed: REASON".
  std::string read(std::uint64_t offset, std::uint64_t length) const {
    if (offset >= size_) return {};
    length = std::min(length, size_ - offset);
    std::string out(static_cast<std::size_t>(length), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
      const ::ssize_t n = ::pread(fd_, out.data() + got, std::min<std::size_t>(out.size() - got, std::size_t(1) << 30),
                                  static_cast<::off_t>(offset + got));
      if (n == 0) break;  // the file shrank
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(function_ + ": reading '" + path_.string() + "' failed: " + detail::error_text(errno));
      }
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
  }

 private:
  std::filesystem::path path_;
  std::string function_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace pml
