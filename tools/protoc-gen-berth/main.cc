// protoc-gen-berth: generates typed ttrpc service stubs for Berth from .proto services.
//
// For foo.proto it writes foo.berth.h / foo.berth.cc holding, per service S:
//   SService       - the server interface: one pure virtual method per RPC (see ipc/typed.h for
//                    the shapes) and RegisterWith(ipc::Server&) to serve it;
//   SClient        - blocking client over ipc::Client;
//   SAsyncClient   - callback client over ipc::AsyncClient (loop thread).
// Wire names are the proto's fully qualified service name and the bare method name, as ttrpc.

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/compiler/plugin.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <map>
#include <memory>
#include <string>

namespace pb = google::protobuf;

namespace {

std::string StripProto(const std::string& name) {
  return name.substr(0, name.size() - std::string(".proto").size());
}

// "a.b.C" -> "::a::b::C"
std::string CppType(const pb::Descriptor* d) {
  std::string out = "::";
  for (char c : d->full_name()) {
    if (c == '.') {
      out += "::";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Namespace(const pb::FileDescriptor* file) {
  std::string out;
  for (char c : file->package()) {
    if (c == '.') {
      out += "::";
    } else {
      out += c;
    }
  }
  return out;
}

enum class Shape { kUnary, kServerStream, kClientStream, kBidi };

Shape ShapeOf(const pb::MethodDescriptor* m) {
  if (m->client_streaming() && m->server_streaming()) return Shape::kBidi;
  if (m->client_streaming()) return Shape::kClientStream;
  if (m->server_streaming()) return Shape::kServerStream;
  return Shape::kUnary;
}

std::map<std::string, std::string> Vars(const pb::MethodDescriptor* m) {
  return {{"method", m->name()},
          {"req", CppType(m->input_type())},
          {"resp", CppType(m->output_type())},
          {"service", m->service()->name()},
          {"full_service", m->service()->full_name()}};
}

void WriteHeaderService(pb::io::Printer& p, const pb::ServiceDescriptor* s) {
  std::map<std::string, std::string> vars{{"service", s->name()}, {"full", s->full_name()}};
  p.Print(vars,
          "class $service$Service {\n"
          " public:\n"
          "  static constexpr const char kServiceName[] = \"$full$\";\n"
          "  virtual ~$service$Service() = default;\n");
  p.Indent();
  for (int i = 0; i < s->method_count(); ++i) {
    auto v = Vars(s->method(i));
    switch (ShapeOf(s->method(i))) {
      case Shape::kUnary:
        p.Print(v,
                "virtual void $method$(const $req$& request, ::berth::ipc::Reply<$resp$> reply) = "
                "0;\n");
        break;
      case Shape::kServerStream:
        p.Print(v,
                "virtual void $method$(const $req$& request, ::berth::ipc::ServerWriter<$resp$> "
                "writer) = 0;\n");
        break;
      case Shape::kClientStream:
        p.Print(v,
                "virtual void $method$(::berth::ipc::ServerReader<$req$, $resp$> stream) = 0;\n");
        break;
      case Shape::kBidi:
        p.Print(v, "virtual void $method$(::berth::ipc::ServerBidi<$req$, $resp$> stream) = 0;\n");
        break;
    }
  }
  p.Print(
      "// Serves every method on `server` under `service_name`; this object must outlive it.\n"
      "void RegisterWith(::berth::ipc::Server& server, const char* service_name = "
      "kServiceName);\n");
  p.Outdent();
  p.Print("};\n\n");

  p.Print(vars,
          "class $service$Client {\n"
          " public:\n"
          "  explicit $service$Client(::berth::ipc::Client& client, const char* service_name = "
          "$service$Service::kServiceName)\n"
          "      : client_(client), service_name_(service_name) {}\n");
  p.Indent();
  for (int i = 0; i < s->method_count(); ++i) {
    auto v = Vars(s->method(i));
    switch (ShapeOf(s->method(i))) {
      case Shape::kUnary:
        p.Print(v,
                "::berth::Result<$resp$> $method$(const $req$& request, ::berth::ipc::CallOptions "
                "options = {});\n");
        break;
      case Shape::kServerStream:
        p.Print(v,
                "::berth::ipc::TypedStream<$req$, $resp$> $method$(const $req$& request, "
                "::berth::ipc::CallOptions options = {});\n");
        break;
      case Shape::kClientStream:
      case Shape::kBidi:
        p.Print(v,
                "::berth::ipc::TypedStream<$req$, $resp$> $method$(::berth::ipc::CallOptions "
                "options = {});\n");
        break;
    }
  }
  p.Outdent();
  p.Print(" private:\n  ::berth::ipc::Client& client_;\n  const char* service_name_;\n};\n\n");

  p.Print(vars,
          "class $service$AsyncClient {\n"
          " public:\n"
          "  explicit $service$AsyncClient(std::shared_ptr<::berth::ipc::AsyncClient> client, "
          "const char* service_name = $service$Service::kServiceName)\n"
          "      : client_(std::move(client)), service_name_(service_name) {}\n");
  p.Indent();
  for (int i = 0; i < s->method_count(); ++i) {
    auto v = Vars(s->method(i));
    switch (ShapeOf(s->method(i))) {
      case Shape::kUnary:
        p.Print(v,
                "void $method$(const $req$& request, ::berth::ipc::CallOptions options, "
                "std::function<void(::berth::Result<$resp$>)> done);\n");
        break;
      case Shape::kServerStream:
        p.Print(v,
                "std::shared_ptr<::berth::ipc::ClientStream> $method$(const $req$& request, "
                "::berth::ipc::CallOptions options, std::function<void($resp$)> on_message, "
                "std::function<void(::berth::Status)> on_done);\n");
        break;
      case Shape::kClientStream:
      case Shape::kBidi:
        p.Print(v,
                "std::shared_ptr<::berth::ipc::ClientStream> $method$(::berth::ipc::CallOptions "
                "options, std::function<void($resp$)> on_message, "
                "std::function<void(::berth::Result<$resp$>)> on_done);\n");
        break;
    }
  }
  p.Outdent();
  p.Print(
      " private:\n  std::shared_ptr<::berth::ipc::AsyncClient> client_;\n  const char* "
      "service_name_;\n};\n\n");
}

void WriteSourceService(pb::io::Printer& p, const pb::ServiceDescriptor* s) {
  std::map<std::string, std::string> vars{{"service", s->name()}};
  p.Print(vars,
          "void $service$Service::RegisterWith(::berth::ipc::Server& server, const char* "
          "service_name) {\n");
  p.Indent();
  for (int i = 0; i < s->method_count(); ++i) {
    auto v = Vars(s->method(i));
    switch (ShapeOf(s->method(i))) {
      case Shape::kUnary:
        p.Print(v,
                "server.Register(service_name, \"$method$\", "
                "[this](std::shared_ptr<::berth::ipc::ServerCall> call) {\n"
                "  auto request = ::berth::ipc::ParseMessage<$req$>(call->request());\n"
                "  if (!request.ok()) { call->Finish(request.status()); return; }\n"
                "  $method$(*request, ::berth::ipc::Reply<$resp$>(std::move(call)));\n"
                "});\n");
        break;
      case Shape::kServerStream:
        p.Print(v,
                "server.Register(service_name, \"$method$\", "
                "[this](std::shared_ptr<::berth::ipc::ServerCall> call) {\n"
                "  auto request = ::berth::ipc::ParseMessage<$req$>(call->request());\n"
                "  if (!request.ok()) { call->Finish(request.status()); return; }\n"
                "  $method$(*request, ::berth::ipc::ServerWriter<$resp$>(std::move(call)));\n"
                "});\n");
        break;
      case Shape::kClientStream:
        p.Print(v,
                "server.Register(service_name, \"$method$\", "
                "[this](std::shared_ptr<::berth::ipc::ServerCall> call) {\n"
                "  $method$(::berth::ipc::ServerReader<$req$, $resp$>(std::move(call)));\n"
                "});\n");
        break;
      case Shape::kBidi:
        p.Print(v,
                "server.Register(service_name, \"$method$\", "
                "[this](std::shared_ptr<::berth::ipc::ServerCall> call) {\n"
                "  $method$(::berth::ipc::ServerBidi<$req$, $resp$>(std::move(call)));\n"
                "});\n");
        break;
    }
  }
  p.Outdent();
  p.Print("}\n\n");

  for (int i = 0; i < s->method_count(); ++i) {
    auto v = Vars(s->method(i));
    switch (ShapeOf(s->method(i))) {
      case Shape::kUnary:
        p.Print(
            v,
            "::berth::Result<$resp$> $service$Client::$method$(const $req$& request, "
            "::berth::ipc::CallOptions options) {\n"
            "  return ::berth::ipc::ParseReply<$resp$>(client_.Call(service_name_, \"$method$\", "
            "::berth::ipc::SerializeMessage(request), std::move(options)));\n"
            "}\n\n"
            "void $service$AsyncClient::$method$(const $req$& request, ::berth::ipc::CallOptions "
            "options, "
            "std::function<void(::berth::Result<$resp$>)> done) {\n"
            "  client_->Call(service_name_, \"$method$\", ::berth::ipc::SerializeMessage(request), "
            "std::move(options),\n"
            "      [done = std::move(done)](::berth::Result<::berth::ipc::Response> reply) {\n"
            "        done(::berth::ipc::ParseReply<$resp$>(std::move(reply)));\n"
            "      });\n"
            "}\n\n");
        break;
      case Shape::kServerStream:
        p.Print(
            v,
            "::berth::ipc::TypedStream<$req$, $resp$> $service$Client::$method$(const $req$& "
            "request, ::berth::ipc::CallOptions options) {\n"
            "  return ::berth::ipc::TypedStream<$req$, $resp$>(client_.OpenStream(service_name_, "
            "\"$method$\", "
            "::berth::ipc::SerializeMessage(request), ::berth::ipc::StreamKind::kServerStream, "
            "std::move(options)));\n"
            "}\n\n"
            "std::shared_ptr<::berth::ipc::ClientStream> $service$AsyncClient::$method$(const "
            "$req$& request, "
            "::berth::ipc::CallOptions options, std::function<void($resp$)> on_message, "
            "std::function<void(::berth::Status)> on_done) {\n"
            "  ::berth::ipc::StreamCallbacks callbacks;\n"
            "  callbacks.on_message = [on_message = "
            "std::move(on_message)](::berth::ipc::Response&& reply) {\n"
            "    auto message = ::berth::ipc::ParseMessage<$resp$>(reply.payload);\n"
            "    if (message.ok()) on_message(std::move(message).value());\n"
            "  };\n"
            "  callbacks.on_finish = [on_done = "
            "std::move(on_done)](::berth::Result<::berth::ipc::Response> result) {\n"
            "    on_done(result.ok() ? ::berth::Status::Ok() : result.status());\n"
            "  };\n"
            "  return client_->OpenStream(service_name_, \"$method$\", "
            "::berth::ipc::SerializeMessage(request), "
            "::berth::ipc::StreamKind::kServerStream, std::move(options), std::move(callbacks));\n"
            "}\n\n");
        break;
      case Shape::kClientStream:
      case Shape::kBidi:
        v["kind"] = ShapeOf(s->method(i)) == Shape::kBidi ? "kBidi" : "kClientStream";
        p.Print(v,
                "::berth::ipc::TypedStream<$req$, $resp$> "
                "$service$Client::$method$(::berth::ipc::CallOptions options) {\n"
                "  return ::berth::ipc::TypedStream<$req$, "
                "$resp$>(client_.OpenStream(service_name_, \"$method$\", {}, "
                "::berth::ipc::StreamKind::$kind$, std::move(options)));\n"
                "}\n\n"
                "std::shared_ptr<::berth::ipc::ClientStream> "
                "$service$AsyncClient::$method$(::berth::ipc::CallOptions options, "
                "std::function<void($resp$)> on_message, "
                "std::function<void(::berth::Result<$resp$>)> on_done) {\n"
                "  ::berth::ipc::StreamCallbacks callbacks;\n"
                "  callbacks.on_message = [on_message = "
                "std::move(on_message)](::berth::ipc::Response&& reply) {\n"
                "    auto message = ::berth::ipc::ParseMessage<$resp$>(reply.payload);\n"
                "    if (message.ok()) on_message(std::move(message).value());\n"
                "  };\n"
                "  callbacks.on_finish = [on_done = "
                "std::move(on_done)](::berth::Result<::berth::ipc::Response> result) {\n"
                "    on_done(::berth::ipc::ParseReply<$resp$>(std::move(result)));\n"
                "  };\n"
                "  return client_->OpenStream(service_name_, \"$method$\", {}, "
                "::berth::ipc::StreamKind::$kind$, "
                "std::move(options), std::move(callbacks));\n"
                "}\n\n");
        break;
    }
  }
}

class BerthGenerator : public pb::compiler::CodeGenerator {
 public:
  bool Generate(const pb::FileDescriptor* file, const std::string& parameter,
                pb::compiler::GeneratorContext* context, std::string* error) const override {
    std::string base = StripProto(file->name());
    std::string ns = Namespace(file);
    {
      std::unique_ptr<pb::io::ZeroCopyOutputStream> out(context->Open(base + ".berth.h"));
      pb::io::Printer p(out.get(), '$');
      p.Print("// Generated by protoc-gen-berth from $file$. Do not edit.\n#pragma once\n\n",
              "file", file->name());
      p.Print("#include <functional>\n#include <memory>\n\n#include \"$base$.pb.h\"\n", "base",
              base);
      p.Print("#include \"ipc/client.h\"\n#include \"ipc/server.h\"\n#include \"ipc/typed.h\"\n\n");
      p.Print("namespace $ns$ {\n\n", "ns", ns);
      for (int i = 0; i < file->service_count(); ++i) WriteHeaderService(p, file->service(i));
      p.Print("}  // namespace $ns$\n", "ns", ns);
    }
    {
      std::unique_ptr<pb::io::ZeroCopyOutputStream> out(context->Open(base + ".berth.cc"));
      pb::io::Printer p(out.get(), '$');
      p.Print("// Generated by protoc-gen-berth from $file$. Do not edit.\n", "file", file->name());
      p.Print("#include \"$base$.berth.h\"\n\nnamespace $ns$ {\n\n", "base", base, "ns", ns);
      for (int i = 0; i < file->service_count(); ++i) WriteSourceService(p, file->service(i));
      p.Print("}  // namespace $ns$\n", "ns", ns);
    }
    return true;
  }
};

}  // namespace

int main(int argc, char** argv) {
  BerthGenerator generator;
  return pb::compiler::PluginMain(argc, argv, &generator);
}
