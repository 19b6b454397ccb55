"""JSON-LD for search engines: Article and FAQPage."""

from ..content import Article
from ..urls import external_url


def article_structured_data(article: Article) -> list[dict]:
    """Return the schema.org objects describing an article and its FAQ."""
    url = external_url("articles.article", slug=article.slug)
    data: list[dict] = [
        {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": article.title,
            "description": article.description,
            "articleSection": article.category,
            "datePublished": article.published.isoformat(),
            "dateModified": article.updated.isoformat(),
            "author": {"@type": "Person", "name": article.author.name, "description": article.author.short_bio},
            "mainEntityOfPage": url,
            "url": url,
        }
    ]
    if article.faq:
        data.append(
            {
                "@context": "https://schema.org",
                "@type": "FAQPage",
                "mainEntity": [
                    {
                        "@type": "Question",
                        "name": item["question"],
                        "acceptedAnswer": {"@type": "Answer", "text": item["answer"]},
                    }
                    for item in article.faq
                ],
            }
        )
    return data
