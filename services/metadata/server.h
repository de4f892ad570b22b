#pragma once
// MetadataServer: serves berth.metadata.v1.{Namespaces,Images,Containers,Leases,GC} over IPC
// by calling a MetadataStore (and a GcScheduler for sync deletes and Collect). It converts
// between Status and the wire and nothing else.
//
// Handlers run on the server's loop thread. Reads answer at once (LMDB reads are fast); writes
// answer from the database writer thread when committed; GC answers from the GC thread.
// The namespace is the caller's containerd-namespace-ttrpc metadata ("default" when absent).

#include <memory>

#include "ipc/server.h"

namespace berth::metadata {

class MetadataStore;
class GcScheduler;

class MetadataServer {
 public:
  // `gc` may be null: sync deletes then skip collection and Collect is FAILED_PRECONDITION.
  MetadataServer(MetadataStore& store, GcScheduler* gc);
  ~MetadataServer();
  // Registers every service; this object must outlive `server`'s serving.
  void RegisterWith(ipc::Server& server);

  class Namespaces;
  class Images;
  class Containers;
  class Leases;
  class Gc;

 private:
  std::unique_ptr<Namespaces> namespaces_;
  std::unique_ptr<Images> images_;
  std::unique_ptr<Containers> containers_;
  std::unique_ptr<Leases> leases_;
  std::unique_ptr<Gc> gc_;
};

}  // namespace berth::metadata
