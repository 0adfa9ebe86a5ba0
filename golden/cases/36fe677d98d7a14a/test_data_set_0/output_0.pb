
Boutput_0JÍÀ-F5