// Compiled and run by stubs_test.py against the Java code `scripts/gen-clients java` makes: the
// messages round-trip through the protobuf-java runtime, and the gRPC service descriptors name
// every RPC of the proto. No server is called (Debian's grpc-java has no transport we test with).
import com.newsroom.analytics.v1.AnalyticsServiceGrpc;
import com.newsroom.analytics.v1.Period;
import com.newsroom.content.v1.Article;
import com.newsroom.content.v1.ContentServiceGrpc;
import com.newsroom.content.v1.Image;
import com.newsroom.content.v1.ListMostReadArticlesRequest;
import io.grpc.MethodDescriptor;
import java.util.Set;
import java.util.TreeSet;

public final class StubsCheck {
  private static void check(boolean condition, String what) {
    if (!condition) throw new AssertionError(what);
  }

  private static Set<String> methods(io.grpc.ServiceDescriptor service) {
    Set<String> names = new TreeSet<>();
    for (MethodDescriptor<?, ?> method : service.getMethods()) names.add(method.getBareMethodName());
    return names;
  }

  public static void main(String[] args) throws Exception {
    Article article = Article.newBuilder()
        .setTitle("Harbour ferry returns — faster")
        .setLeadImage(Image.newBuilder().setUri("https://images.example.org/a.jpg"))
        .addTags("transport")
        .build();
    Article parsed = Article.parseFrom(article.toByteArray());
    check(parsed.equals(article), "Article round trip");
    check(parsed.getLeadImage().getUri().endsWith("/a.jpg"), "nested message");
    check(ListMostReadArticlesRequest.newBuilder().setPeriod(Period.PERIOD_LAST_DAY).build()
        .getPeriodValue() == 2, "Period number");

    check(methods(ContentServiceGrpc.getServiceDescriptor()).equals(new TreeSet<>(Set.of(
        "GetArticle", "ReadArticle", "ListArticles", "CreateArticle", "UpdateArticle",
        "DeleteArticle", "ListMostReadArticles", "WatchArticleReadStats"))),
        "ContentService methods");
    check(methods(AnalyticsServiceGrpc.getServiceDescriptor()).equals(new TreeSet<>(Set.of(
        "RecordRead", "BatchRecordReads", "GetReadStats", "BatchGetReadStats",
        "ListTopArticles", "WatchReadStats", "WatchReadStatsChanges"))),
        "AnalyticsService methods");
    check(ContentServiceGrpc.getReadArticleMethod().getFullMethodName()
        .equals("newsroom.content.v1.ContentService/ReadArticle"), "full method name");
    check(ContentServiceGrpc.getWatchArticleReadStatsMethod().getType()
        == MethodDescriptor.MethodType.SERVER_STREAMING, "WatchArticleReadStats streams");
    System.out.println("java stubs ok");
  }
}
