#include "client/hosts.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <toml++/toml.h>

#include "common/fs.h"

namespace berth::client {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class HostsFile {
 public:
  HostsFile(std::string path, std::string dir) : path_(std::move(path)), dir_(std::move(dir)) {}

  Status Fail(std::string_view what) const {
    return Error(Code::kInvalidArgument, "{}: {}", path_, what);
  }
  std::string Abs(const std::string& p) const { return p.starts_with('/') ? p : dir_ + "/" + p; }

  Status Strings(const toml::node* node, const char* key, std::vector<std::string>& out) const {
    if (node == nullptr) return Status::Ok();
    if (auto s = node->value<std::string>()) {
      out.push_back(*s);
      return Status::Ok();
    }
    const toml::array* a = node->as_array();
    if (a == nullptr) return Fail(fmt::format("{} must be a string or a list of strings", key));
    for (const toml::node& item : *a) {
      auto s = item.value<std::string>();
      if (!s) return Fail(fmt::format("{} must hold strings", key));
      out.push_back(*s);
    }
    return Status::Ok();
  }

  Status Client(const toml::node* node, TlsOptions& tls) const {
    if (node == nullptr) return Status::Ok();
    std::vector<std::string> pair;
    if (const toml::array* a = node->as_array(); a && !a->empty() && a->front().is_array()) {
      BERTH_RETURN_IF_ERROR(Strings(&a->front(), "client", pair));  // the first pair
    } else {
      BERTH_RETURN_IF_ERROR(Strings(node, "client", pair));
    }
    if (pair.empty() || pair.size() > 2) return Fail("client must be a cert, or [cert, key]");
    tls.client_cert = Abs(pair[0]);
    if (pair.size() == 2) tls.client_key = Abs(pair[1]);
    return Status::Ok();
  }

  // Settings shared by the top level and [host."..."] tables.
  Status Settings(const toml::table& t, RegistryHost& h, bool* override_path) const {
    std::vector<std::string> ca;
    BERTH_RETURN_IF_ERROR(Strings(t.get("ca"), "ca", ca));
    for (const std::string& c : ca) h.tls.ca_files.push_back(Abs(c));
    BERTH_RETURN_IF_ERROR(Client(t.get("client"), h.tls));
    if (const toml::node* n = t.get("skip_verify")) {
      auto b = n->value<bool>();
      if (!b) return Fail("skip_verify must be true or false");
      h.tls.skip_verify = *b;
    }
    if (const toml::node* n = t.get("override_path")) {
      auto b = n->value<bool>();
      if (!b) return Fail("override_path must be true or false");
      *override_path = *b;
    }
    if (const toml::node* n = t.get("capabilities")) {
      std::vector<std::string> caps;
      BERTH_RETURN_IF_ERROR(Strings(n, "capabilities", caps));
      h.capabilities = 0;
      for (const std::string& c : caps) {
        if (c == "pull")
          h.capabilities |= kCapPull;
        else if (c == "resolve")
          h.capabilities |= kCapResolve;
        else if (c == "push")
          h.capabilities |= kCapPush;
        else
          return Fail("unknown capability \"" + c + "\" (pull, resolve, push)");
      }
    }
    if (const toml::node* n = t.get("header")) {
      const toml::table* headers = n->as_table();
      if (headers == nullptr) return Fail("header must be a table");
      for (auto& [k, v] : *headers) {
        std::vector<std::string> values;
        BERTH_RETURN_IF_ERROR(Strings(&v, "header values", values));
        for (auto& value : values) h.headers.emplace_back(std::string(k.str()), value);
      }
    }
    return Status::Ok();
  }

  // Applies a URL ("https://host:port/path") to `h`.
  Status Url(const std::string& url, RegistryHost& h, bool override_path) const {
    size_t sep = url.find("://");
    if (sep == std::string::npos) return Fail("\"" + url + "\" is not an http(s) URL");
    h.scheme = url.substr(0, sep);
    if (h.scheme != "http" && h.scheme != "https") return Fail("\"" + url + "\" is not http(s)");
    std::string rest = url.substr(sep + 3);
    size_t slash = rest.find('/');
    h.host = rest.substr(0, slash);
    if (h.host.empty()) return Fail("\"" + url + "\" has no host");
    std::string path = slash == std::string::npos ? "" : rest.substr(slash);
    while (path.ends_with('/')) path.pop_back();
    if (!override_path && !path.ends_with("/v2")) path += "/v2";
    h.path = path;
    return Status::Ok();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_, dir_;
};

// The order of [host."..."] tables as written (toml++ tables are sorted maps).
std::vector<std::string> HostOrder(const std::string& text) {
  std::vector<std::string> order;
  size_t pos = 0;
  while ((pos = text.find("[host.\"", pos)) != std::string::npos) {
    pos += 7;
    size_t end = text.find('"', pos);
    if (end == std::string::npos) break;
    std::string name = text.substr(pos, end - pos);
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  }
  return order;
}

Status LoadHostsToml(const std::string& file, const std::string& dir, RegistryHost& server,
                     std::vector<RegistryHost>& mirrors) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  HostsFile hf(file, dir);
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return hf.Fail(std::string(e.description()));
  }
  bool override_path = false;
  BERTH_RETURN_IF_ERROR(hf.Settings(doc, server, &override_path));
  if (auto s = doc["server"].value<std::string>()) {
    BERTH_RETURN_IF_ERROR(hf.Url(*s, server, override_path));
  }
  const toml::table* hosts = doc["host"].as_table();
  if (hosts == nullptr) return Status::Ok();
  for (const std::string& url : HostOrder(text)) {
    const toml::table* t = (*hosts)[url].as_table();
    if (t == nullptr) continue;
    RegistryHost m;
    m.mirror = true;
    m.capabilities = kCapPull | kCapResolve;
    bool mirror_override = false;
    BERTH_RETURN_IF_ERROR(hf.Settings(*t, m, &mirror_override));
    BERTH_RETURN_IF_ERROR(hf.Url(url, m, mirror_override));
    mirrors.push_back(std::move(m));
  }
  return Status::Ok();
}

// Docker's certs.d layout: *.crt CAs, X.cert + X.key client pairs.
void LoadCertFiles(const std::string& dir, RegistryHost& server) {
  for (const std::string& name : ListDir(dir)) {
    if (name.ends_with(".crt")) server.tls.ca_files.push_back(dir + "/" + name);
    if (name.ends_with(".cert")) {
      std::string key = dir + "/" + name.substr(0, name.size() - 5) + ".key";
      if (Exists(key) && server.tls.client_cert.empty()) {
        server.tls.client_cert = dir + "/" + name;
        server.tls.client_key = key;
      }
    }
  }
}

}  // namespace

Result<std::vector<RegistryHost>> ConfigureHosts(std::string_view domain,
                                                 const HostsOptions& options) {
  RegistryHost server;
  server.host = domain == "docker.io" ? "registry-1.docker.io" : std::string(domain);
  server.scheme = options.plain_http ? "http" : "https";
  server.tls.skip_verify = options.skip_verify;
  std::vector<RegistryHost> hosts;
  if (!options.hosts_dir.empty()) {
    std::string dir = options.hosts_dir + "/" + std::string(domain);
    if (!Exists(dir)) dir = options.hosts_dir + "/_default";
    std::string file = dir + "/hosts.toml";
    if (Exists(file)) {
      BERTH_RETURN_IF_ERROR(LoadHostsToml(file, dir, server, hosts));
    } else if (Exists(dir)) {
      LoadCertFiles(dir, server);
    }
  }
  if (options.plain_http) server.scheme = "http";
  if (options.skip_verify) server.tls.skip_verify = true;
  hosts.push_back(std::move(server));
  return hosts;
}

}  // namespace berth::client
