#include "store/pg_options.hpp"

#include <gtest/gtest.h>

namespace portico::store {
namespace {

TEST(PgOptions, AUriIsUsedAsGivenAndDescribedWithoutItsPassword) {
  auto o = pg_options("postgres://kong:s3cret@db.internal:6432/gateway", {});
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->conninfo, "postgres://kong:s3cret@db.internal:6432/gateway");
  EXPECT_EQ(o->description, "kong@db.internal:6432/gateway");
}

TEST(PgOptions, KongStyleSettingsAreQuotedForLibpq) {
  PgSettings settings;
  settings.host = "10.0.0.5";
  settings.port = 5433;
  settings.user = "o'brien";
  settings.password = "pa ss\\word";
  settings.database = "kong";
  auto o = pg_options("postgres", settings);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->conninfo, "host='10.0.0.5' port=5433 user='o\\'brien' dbname='kong' password='pa ss\\\\word'");
  EXPECT_EQ(o->description, "o'brien@10.0.0.5:5433/kong");
}

TEST(PgOptions, AnUnreadableStringIsRefusedWithoutEchoingIt) {
  auto o = pg_options("postgres://kong:bad%zzpassword@db/kong", {});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().kind, ErrorKind::config);
  EXPECT_NE(o.error().message.find("--database: not a PostgreSQL URI or key=value string"), std::string::npos)
      << o.error().message;
  EXPECT_EQ(o.error().message.find("zzpassword"), std::string::npos) << o.error().message;
}

TEST(PgOptions, WhatNamesPostgres) {
  EXPECT_TRUE(names_postgres("postgres"));
  EXPECT_TRUE(names_postgres("postgres://h/d"));
  EXPECT_TRUE(names_postgres("postgresql://h/d"));
  EXPECT_TRUE(names_postgres("host=h dbname=d"));
  EXPECT_FALSE(names_postgres("sqlite"));
  EXPECT_FALSE(names_postgres("postgress://h/d"));
  EXPECT_FALSE(names_postgres(""));
}

}  // namespace
}  // namespace portico::store
