
Boutput_0JV?‡¾