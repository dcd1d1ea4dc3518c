"""How well search finds what readers mean: a judged query set, recall@10 and nDCG@10."""
