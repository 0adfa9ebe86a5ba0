
Boutput_0JmA8ŒÇA