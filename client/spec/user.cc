#include "client/spec/user.h"

#include <charconv>
#include <optional>
#include <string_view>

namespace berth::spec {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool IsNumber(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// The entries of an account file (passwd or group): colon-separated fields per line.
using Entries = std::vector<std::vector<std::string_view>>;
Entries ParseEntries(std::string_view data, size_t min_fields) {
  Entries entries;
  for (std::string_view line : Split(data, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    auto fields = Split(line, ':');
    if (fields.size() >= min_fields) entries.push_back(std::move(fields));
  }
  return entries;
}

struct AccountFiles {
  const RootfsFiles& files;
  std::optional<std::string> passwd;
  std::optional<std::string> group;
  bool passwd_read = false;
  bool group_read = false;

  Result<const std::optional<std::string>*> Passwd() {
    if (!passwd_read) {
      BERTH_ASSIGN_OR_RETURN(passwd, files.Read("/etc/passwd", kMaxAccountFileSize));
      passwd_read = true;
    }
    return &passwd;
  }
  Result<const std::optional<std::string>*> Group() {
    if (!group_read) {
      BERTH_ASSIGN_OR_RETURN(group, files.Read("/etc/group", kMaxAccountFileSize));
      group_read = true;
    }
    return &group;
  }
};

// Finds the passwd entry whose field `index` (0 = name, 2 = uid) equals `key`.
Result<std::optional<std::vector<std::string_view>>> FindPasswd(AccountFiles& files, size_t index,
                                                                std::string_view key) {
  BERTH_ASSIGN_OR_RETURN(auto passwd, files.Passwd());
  if (!passwd->has_value()) return std::optional<std::vector<std::string_view>>();
  for (auto& entry : ParseEntries(**passwd, 7)) {
    if (entry[index] == key) return std::optional<std::vector<std::string_view>>(entry);
  }
  return std::optional<std::vector<std::string_view>>();
}

Status ResolveUserPart(const std::string& part, AccountFiles& files, ResolvedUser& out) {
  bool numeric = IsNumber(part);
  if (numeric) {
    BERTH_ASSIGN_OR_RETURN(out.uid, ParseId(part, "uid"));
  }
  BERTH_ASSIGN_OR_RETURN(auto entry, FindPasswd(files, numeric ? 2 : 0, part));
  if (!entry) {
    if (numeric) return Status::Ok();  // an unlisted uid runs with gid 0, as in containerd
    return Error(Code::kInvalidArgument, "user {}: no such user in the image's /etc/passwd", part);
  }
  out.name = std::string((*entry)[0]);
  BERTH_ASSIGN_OR_RETURN(out.uid, ParseId(std::string((*entry)[2]), "uid of user " + part));
  BERTH_ASSIGN_OR_RETURN(out.gid, ParseId(std::string((*entry)[3]), "gid of user " + part));
  return Status::Ok();
}

Result<uint32_t> ResolveGroupPart(const std::string& part, AccountFiles& files) {
  if (IsNumber(part)) return ParseId(part, "gid");
  BERTH_ASSIGN_OR_RETURN(auto group, files.Group());
  if (group->has_value()) {
    for (auto& entry : ParseEntries(**group, 4)) {
      if (entry[0] == part) return ParseId(std::string(entry[2]), "gid of group " + part);
    }
  }
  return Error(Code::kInvalidArgument, "group {}: no such group in the image's /etc/group", part);
}

Status AddMemberGroups(AccountFiles& files, ResolvedUser& out) {
  out.additional_gids = {out.gid};
  if (out.name.empty()) return Status::Ok();
  BERTH_ASSIGN_OR_RETURN(auto group, files.Group());
  if (!group->has_value()) return Status::Ok();
  for (auto& entry : ParseEntries(**group, 4)) {
    bool member = false;
    for (std::string_view m : Split(entry[3], ',')) member = member || m == out.name;
    if (!member) continue;
    auto gid = ParseId(std::string(entry[2]), "gid of group " + std::string(entry[0]));
    if (!gid.ok()) continue;  // a broken line does not concern this user's main groups
    bool seen = false;
    for (uint32_t g : out.additional_gids) seen = seen || g == *gid;
    if (!seen) out.additional_gids.push_back(*gid);
  }
  return Status::Ok();
}

}  // namespace

Result<uint32_t> ParseId(const std::string& text, const std::string& what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!IsNumber(text) || ec != std::errc() || end != text.data() + text.size() ||
      value > 0x7fffffffULL) {
    return Error(Code::kInvalidArgument, "{} {:?} is not a number between 0 and 2147483647", what,
                 text);
  }
  return static_cast<uint32_t>(value);
}

Result<ResolvedUser> ResolveUser(const std::string& user, const RootfsFiles& rootfs) {
  AccountFiles files{rootfs};
  ResolvedUser out;
  auto parts = Split(user, ':');
  if (parts.size() > 2 || (parts.size() == 2 && (parts[0].empty() || parts[1].empty()))) {
    return Error(Code::kInvalidArgument, "user {:?}: expected USER or USER:GROUP", user);
  }
  if (user.empty()) {
    out.name = "root";
  } else {
    BERTH_RETURN_IF_ERROR(ResolveUserPart(std::string(parts[0]), files, out));
  }
  if (parts.size() == 2) {
    BERTH_ASSIGN_OR_RETURN(out.gid, ResolveGroupPart(std::string(parts[1]), files));
  }
  BERTH_RETURN_IF_ERROR(AddMemberGroups(files, out));
  return out;
}

}  // namespace berth::spec
