#pragma once

// An article for store and cache tests that tell versions apart by title and etag.

#include <string>

#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

inline v1::Article TitledArticle(const std::string& id, const std::string& title,
                                 const std::string& etag) {
  v1::Article article;
  article.set_name("articles/" + id);
  article.set_title(title);
  article.set_etag(etag);
  article.mutable_publish_time()->set_seconds(1795000000);
  return article;
}

}  // namespace newsroom::content
