
Binput_2JKÀ‡¾N8