
Boutput_0JĽ