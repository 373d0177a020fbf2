// `portico config ...` (Kong's CLI names): move a declarative file into the embedded store
// and back, and check a file.
//   db_import FILE      adds the file's entities to the store in --data-dir (one transaction)
//   db_export [FILE]    writes the store's entities as a Kong 3.0 declarative file (stdout
//                       without FILE)
//   parse FILE          validates a declarative file (as `portico check`)
// The store is locked while a gateway runs on it: import and export refuse then.
#pragma once

#include <string>

namespace portico::cli {

int db_import(const std::string& data_dir, const std::string& file);
int db_export(const std::string& data_dir, const std::string& file);
int parse(const std::string& file);

}  // namespace portico::cli
