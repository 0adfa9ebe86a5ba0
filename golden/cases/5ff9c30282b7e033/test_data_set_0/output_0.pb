
Boutput_0J򜺍�4;h3�>